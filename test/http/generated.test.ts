/**
 * Issue 9, the generated-input run: 20,000 signed requests (fast-check) over every route of
 * /openapi.json with generated path segments, queries, content types and bodies (known fields
 * with odd values, unknown and deeply nested fields, prototype keys). No answer may be a 5xx,
 * lack X-Request-Id, or carry an error body outside the contract.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { call, client, type Reply } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const RUNS = Number(process.env.DCS_GENERATED_RUNS ?? 20_000);
const PARALLEL = 8;

let svc: Service;
let redis: TestRedis;
let instanceId: string;
let routes: { method: string; path: string }[];

before(async () => {
  redis = await startRedis();
  // No redis-server for managed instances: a generated create cannot start processes.
  svc = await startService({ args: ['--redis-server', '/nonexistent/redis-server'] });
  const admin = client(svc.url, svc.admin);
  const created = await admin.post('/v2/{p}/instances', {
    name: 'generated', engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redis.url, no_password_access: true,
  });
  assert.equal(created.status, 200, created.text);
  instanceId = created.body.instances[0].instance_id;
  const doc = (await call(svc.url, null, 'GET', '/openapi.json')).body;
  routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
    Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path: p })));
  assert.ok(routes.length >= 15, `only ${routes.length} routes`);
});

after(async () => {
  await svc?.stop();
  await redis?.stop();
});

const oddText = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.constantFrom('', '%', '%00', '%zz', '%C3%28', '..', 'constructor', '__proto__', 'toString', 'a'.repeat(5000), '|^`{}', "'", '😀'),
);
const idLike = (real: () => string): fc.Arbitrary<string> => fc.oneof(
  { weight: 3, arbitrary: fc.constant(null).map(() => real()) },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }) },
  { weight: 3, arbitrary: oddText },
);
const protoKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');
const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }), oddText, fc.double(), fc.constantFrom(1e-10, 0, -1, 1e308, 1024, 0.0009765625, null, true),
  fc.array(fc.oneof(fc.uuid(), oddText), { maxLength: 3 }),
);
const knownFields = ['name', 'engine', 'engine_version', 'capacity', 'password', 'no_password_access', 'port', 'redis_url', 'vpc_id',
  'instances', 'action', 'old_password', 'new_password', 'redis_config', 'new_capacity', 'change_type', 'node_list', 'replica_num',
  'message', 'ttl_seconds', 'description', 'spec_code'];
const redisConfig = fc.array(fc.record({ param_name: fc.oneof(protoKey, fc.constantFrom('timeout', 'maxmemory-policy'), oddText), param_value: fc.oneof(oddText, fc.integer()) }), { maxLength: 3 });
const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...knownFields), protoKey, fc.string({ maxLength: 6 })), value, { maxKeys: 6 }) },
  { weight: 2, arbitrary: fc.record({ redis_config: redisConfig }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 60 }).map((d) => ({ action: 'flush', junk: JSON.parse('['.repeat(d) + ']'.repeat(d)) })) },
  { weight: 1, arbitrary: fc.jsonValue() },
);
const contentType = fc.constantFrom('application/json', 'application/json;charset=UTF-8', '', 'json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x');
const query = fc.dictionary(fc.constantFrom('offset', 'limit', 'start_time', 'end_time', 'x', '__proto__', 'constructor'), fc.oneof(oddText, fc.nat().map(String)), { maxKeys: 3 });

function checkAnswer(r: Reply, method: string, what: string) {
  assert.ok(r.status >= 200 && r.status < 500, `${what} → ${r.status} ${r.text.slice(0, 300)}`);
  assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/, `${what} → no X-Request-Id`);
  if (r.status >= 400) {
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/, what);
    // An answer to HEAD has no body (RFC 9110), the error body included.
    if (method === 'HEAD') return assert.equal(r.text, '', what);
    assert.deepEqual(Object.keys(r.body ?? {}).sort(), ['error_code', 'error_ext_msg', 'error_msg'], `${what} → ${r.text.slice(0, 300)}`);
    assert.match(r.body.error_code, /^DCS\.\d{4}$/, what);
    assert.equal(r.body.error_ext_msg, null, what);
    assert.ok(typeof r.body.error_msg === 'string' && r.body.error_msg.length <= 1024, what);
  }
}

test(`${RUNS} generated signed requests over every route: no 5xx, every answer with X-Request-Id and the contract's error body`, async () => {
  const admin = client(svc.url, svc.admin);
  const request = fc.record({
    route: fc.nat(), instance: idLike(() => instanceId), task: idLike(() => '8abf6e1e72c12e7c0172c15b508500aa'),
    query, body, contentType,
  });
  const samples = fc.sample(request, { numRuns: RUNS, seed: Number(process.env.DCS_GENERATED_SEED ?? Date.now() % 1e9) });
  const seen = new Set<string>();
  let next = 0;
  const worker = async () => {
    while (next < samples.length) {
      const s = samples[next++]!;
      const route = routes[s.route % routes.length]!;
      seen.add(`${route.method} ${route.path}`);
      // Deleting the one real instance would leave the rest of the run without it.
      const inst = route.method === 'DELETE' && route.path.endsWith('{instance_id}') && s.instance === instanceId ? '5560df16-cebf-4473-95c4-d1b573c16e79' : s.instance;
      const path = route.path
        .replace('{project_id}', admin.project)
        .replace('{instance_id}', encodeURIComponent(inst))
        .replace(/\{(task_id|job_id)\}/, encodeURIComponent(s.task));
      const what = `${route.method} ${path.slice(0, 200)} ${JSON.stringify(s.query).slice(0, 100)} ct=${JSON.stringify(s.contentType)} ${JSON.stringify(s.body)?.slice(0, 200)}`;
      const r = await admin.call(route.method, path, { query: s.query, body: s.body, headers: { 'content-type': s.contentType } });
      checkAnswer(r, route.method, what);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  assert.equal(seen.size, routes.length, 'every route was tried');
});

test('without a runnable redis-server a managed create is 400 naming the binary, how to install it and redis_url; the start said so', async () => {
  const r = await client(svc.url, svc.admin).post('/v2/{p}/instances', { name: 'managed', engine: 'Redis', engine_version: '7.0', capacity: 1, password: 'Managed#Pass1' });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error_code, 'DCS.4800');
  assert.match(r.body.error_msg, /\/nonexistent\/redis-server cannot be run/);
  assert.match(r.body.error_msg, /apt-get install redis-server/);
  assert.match(r.body.error_msg, /redis_url/);
  assert.match(svc.output(), /"level":40[^\n]*\/nonexistent\/redis-server/);
});
