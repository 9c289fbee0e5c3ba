/**
 * Property test: whatever a signed client sends — odd path segments, query values, bodies —
 * the service answers without a 5xx, and every error has exactly the contract's error body.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { call, client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';

let svc: Service;
let instanceId: string;
let taskId: string;

before(async () => {
  svc = await startService();
  instanceId = '5560df16-cebf-4473-95c4-d1b573c16e79';
  taskId = '8abf6e1e72c12e7c0172c15b508500aa';
});

after(async () => {
  await svc?.stop();
});

const segment = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '.', '..', '%', '%00', '%2F', '😀', 'ｔａｓｋ', '\u202e', 'a'.repeat(300), '8abf6e1e72c12e7c0172c15b508500aa'),
  fc.uuid(),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 31, maxLength: 33 }),
);

const routes = (i: string, t: string): [string, string][] => [
  ['GET', `/v2/{p}/instances/${i}/tasks`],
  ['GET', `/v2/{p}/instances/${i}/tasks/${t}/progress`],
  ['DELETE', `/v2/{p}/instances/${i}/tasks/${t}`],
  ['GET', '/v2/{p}/tasks'],
  ['DELETE', `/v2/{p}/tasks/${t}`],
  ['GET', `/v2/{p}/jobs/${t}`],
  ['GET', `/v2/{p}/instances/${i}`],
  ['PUT', `/v2/{p}/instances/${i}/password`],
  ['PUT', `/v2/{p}/instances/${i}/configs`],
  ['PUT', '/v2/{p}/instances/status'],
  ['DELETE', `/v2/{p}/instances/${i}`],
];

const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue(),
  fc.record({ message: fc.anything() }),
  fc.record({ instances: fc.array(fc.oneof(fc.uuid(), fc.string())), action: fc.string() }),
  fc.record({ redis_config: fc.array(fc.record({ param_name: fc.string(), param_value: fc.oneof(fc.string(), fc.integer()) })) }),
  fc.record({ old_password: fc.oneof(fc.string(), fc.constant(null)), new_password: fc.oneof(fc.string(), fc.integer()) }),
);

function assertNoServerError(r: { status: number; body: any; text: string }, what: string) {
  assert.ok(r.status < 500, `${what} → ${r.status} ${r.text}`);
  if (r.status >= 400) {
    assert.deepEqual(Object.keys(r.body ?? {}).sort(), ['error_code', 'error_ext_msg', 'error_msg'], `${what} → ${r.text}`);
    assert.match(r.body.error_code, /^DCS\.\d{4}$/);
    assert.equal(r.body.error_ext_msg, null);
    assert.ok(r.body.error_msg.length <= 1024);
  }
}

test('random path segments, queries and bodies never give a 5xx or a malformed error body', async () => {
  const admin = client(svc.url, svc.admin);
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: 10 }), fc.oneof(segment, fc.constant(instanceId)), fc.oneof(segment, fc.constant(taskId)),
      fc.dictionary(fc.constantFrom('offset', 'limit', 'start_time', 'end_time', 'x', '😀'), fc.string({ maxLength: 20 })),
      body,
      async (n, i, t, query, b) => {
        const [method, path] = routes(encodeURIComponent(i), encodeURIComponent(t))[n];
        const r = await admin.call(method, path, { query, body: b });
        assertNoServerError(r, `${method} ${path} ${JSON.stringify(query)} ${JSON.stringify(b)}`);
      },
    ),
    { numRuns: 300 },
  );
});

test('raw bytes as a body (broken JSON, odd Unicode) → 400 DCS.4005 or 4800, never 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('{', '[1,', '{"message":"\ud800"}', '\u0000', 'null', '"x"')), async (raw) => {
      const r = await call(svc.url, svc.admin, 'DELETE', `/v2/${svc.admin.project_id}/tasks/${taskId}`, {
        headers: { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' }, rawBody: raw,
      });
      assertNoServerError(r, JSON.stringify(raw));
      assert.ok([400, 404].includes(r.status), `${JSON.stringify(raw)} → ${r.status}`);
    }),
    { numRuns: 150 },
  );
});
