/**
 * The error table of api.md, against a real server process: every 400/401/403/404/405 with the
 * exact error body, the X-Request-Id header, and the contract's order of checks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let svc: Service;
let redis: TestRedis;
let admin: Client;
let reader: Client;
let other: Client;
let instanceId: string;
let taskId: string;
const P = '{p}';
const UNKNOWN_INSTANCE = '5560df16-cebf-4473-95c4-d1b573c16e79';
const UNKNOWN_TASK = '8abf6e1e72c12e7c0172c15b508500aa';

function assertError(r: { status: number; body: any; headers: Headers; text: string }, status: number, code: string) {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.deepEqual(Object.keys(r.body).sort(), ['error_code', 'error_ext_msg', 'error_msg']);
  assert.equal(r.body.error_code, code, r.text);
  assert.equal(r.body.error_ext_msg, null);
  assert.ok(typeof r.body.error_msg === 'string' && r.body.error_msg.length > 0 && r.body.error_msg.length <= 1024);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
  assert.doesNotMatch(r.text, /at .*\.js:\d+|node_modules|SELECT|sqlite/i);
}

before(async () => {
  redis = await startRedis();
  svc = await startService();
  admin = client(svc.url, svc.admin);
  reader = client(svc.url, svc.reader);
  other = client(svc.url, svc.other);
  const created = await admin.post(`/v2/${P}/instances`, {
    name: 'attached-errors', engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redis.url, no_password_access: true,
  });
  assert.equal(created.status, 200, created.text);
  instanceId = created.body.instances[0].instance_id;
  const flush = await admin.put(`/v2/${P}/instances/status`, { instances: [instanceId], action: 'flush' });
  assert.equal(flush.status, 200, flush.text);
  const list = await waitFor(async () => {
    const r = await admin.get(`/v2/${P}/instances/${instanceId}/tasks`);
    return r.body.tasks?.[0]?.status === 'SUCCESS' && r;
  });
  taskId = list.body.tasks[0].id;
});

after(async () => {
  await svc?.stop();
  await redis?.stop();
});

describe('identifier formats', () => {
  test('malformed task id → 400 DCS.4070', async () => {
    for (const bad of ['xyz', UNKNOWN_TASK.toUpperCase(), `${UNKNOWN_TASK}0`, UNKNOWN_TASK.slice(1), 'é'.repeat(32), '%00'.repeat(3), 'a'.repeat(3000)]) {
      assertError(await admin.del(`/v2/${P}/instances/${instanceId}/tasks/${encodeURIComponent(bad)}`), 400, 'DCS.4070');
    }
  });
  test('malformed instance id → 400 DCS.4061', async () => {
    for (const bad of ['abc', UNKNOWN_INSTANCE.toUpperCase(), UNKNOWN_INSTANCE.replace(/-/g, ''), `${UNKNOWN_INSTANCE}x`]) {
      assertError(await admin.del(`/v2/${P}/instances/${encodeURIComponent(bad)}/tasks/${UNKNOWN_TASK}`), 400, 'DCS.4061');
      assertError(await admin.get(`/v2/${P}/instances/${encodeURIComponent(bad)}/tasks`), 400, 'DCS.4061');
      // The same id inside a body (BatchRestartOrFlushInstances) is malformed the same way.
      assertError(await admin.put(`/v2/${P}/instances/status`, { instances: [instanceId, bad], action: 'flush' }), 400, 'DCS.4061');
    }
  });
  test('malformed job id → 400 DCS.4070', async () => {
    assertError(await admin.get(`/v2/${P}/jobs/not-a-job`), 400, 'DCS.4070');
  });
  test('malformed project id on a signed request → 401 DCS.1004: the project check comes before formats', async () => {
    assertError(await call(svc.url, svc.admin, 'GET', '/v2/bad%20project/tasks', { projectHeader: false }), 401, 'DCS.1004');
  });
  test('malformed project id where no credential names one (--no-auth) → 400 DCS.4002', async () => {
    const open = await startService({ args: ['--no-auth'] });
    try {
      for (const bad of ['bad%20project', 'p'.repeat(65), 'proj.ect', '%C3%A9t%C3%A9', 'a%2Fb']) {
        assertError(await call(open.url, null, 'GET', `/v2/${bad}/tasks`), 400, 'DCS.4002');
        assertError(await call(open.url, null, 'DELETE', `/v2/${bad}/instances/${UNKNOWN_INSTANCE}/tasks/${UNKNOWN_TASK}`), 400, 'DCS.4002');
      }
      const longest = await call(open.url, null, 'GET', `/v2/${'A_z-9'.repeat(12)}abcd/tasks`);
      assert.equal(longest.status, 200, longest.text);
    } finally {
      await open.stop();
    }
  });
});

describe('existence and state', () => {
  test('unknown instance → 404 DCS.3022; instance of another project → 404 DCS.3022', async () => {
    assertError(await admin.del(`/v2/${P}/instances/${UNKNOWN_INSTANCE}/tasks/${taskId}`), 404, 'DCS.3022');
    assertError(await other.del(`/v2/${P}/instances/${instanceId}/tasks/${taskId}`), 404, 'DCS.3022');
    assertError(await other.get(`/v2/${P}/instances/${instanceId}/tasks`), 404, 'DCS.3022');
    // The instance check and the task's lookup go together; the instance's answer wins.
    assertError(await admin.get(`/v2/${P}/instances/${UNKNOWN_INSTANCE}/tasks/${taskId}/progress`), 404, 'DCS.3022');
    assertError(await other.get(`/v2/${P}/instances/${instanceId}/tasks/${taskId}/progress`), 404, 'DCS.3022');
  });
  test('unknown task → 404 DCS.4001, task of another project → 404', async () => {
    assertError(await admin.del(`/v2/${P}/instances/${instanceId}/tasks/${UNKNOWN_TASK}`), 404, 'DCS.4001');
    assertError(await admin.del(`/v2/${P}/tasks/${UNKNOWN_TASK}`), 404, 'DCS.4001');
    assertError(await other.del(`/v2/${P}/tasks/${taskId}`), 404, 'DCS.4001');
    assertError(await admin.get(`/v2/${P}/jobs/${UNKNOWN_TASK}`), 404, 'DCS.4001');
    assertError(await admin.get(`/v2/${P}/instances/${instanceId}/tasks/${UNKNOWN_TASK}/progress`), 404, 'DCS.4001');
  });
  test('the task still exists after all those refusals', async () => {
    const r = await admin.get(`/v2/${P}/jobs/${taskId}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'SUCCESS');
  });
});

describe('authentication and roles', () => {
  test('no credentials → 401 DCS.1003', async () => {
    assertError(await call(svc.url, null, 'GET', `/v2/${svc.admin.project_id}/tasks`), 401, 'DCS.1003');
  });
  test('tampered signature, unknown AK, wrong SK → 401 DCS.1001', async () => {
    assertError(await admin.get(`/v2/${P}/tasks`, { tamper: (h) => (h.Authorization = h.Authorization.replace(/Signature=(.)/, (_, c) => `Signature=${c === '0' ? '1' : '0'}`)) }), 401, 'DCS.1001');
    assertError(await call(svc.url, { ...svc.admin, access_key: 'AKUNKNOWN000000000' }, 'GET', `/v2/${svc.admin.project_id}/tasks`), 401, 'DCS.1001');
    assertError(await call(svc.url, { ...svc.admin, secret_key: 'wrong' }, 'GET', `/v2/${svc.admin.project_id}/tasks`), 401, 'DCS.1001');
    assertError(await admin.get(`/v2/${P}/tasks`, { tamper: (h) => (h.Authorization = 'Basic abc') }), 401, 'DCS.1001');
  });
  test('signed query or body changed after signing → 401 DCS.1001', async () => {
    const signedLimit = await admin.get(`/v2/${P}/tasks`, { query: { limit: '5' } });
    assert.equal(signedLimit.status, 200);
    // Same signature, different bytes on the wire.
    const r = await call(svc.url, svc.admin, 'DELETE', `/v2/${svc.admin.project_id}/tasks/${UNKNOWN_TASK}`, {
      body: { message: 'a' }, rawBody: JSON.stringify({ message: 'b' }),
    });
    assertError(r, 401, 'DCS.1001');
  });
  test('X-Sdk-Date 20 minutes old → 401 DCS.1002', async () => {
    const old = new Date(Date.now() - 20 * 60_000).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const r = await admin.get(`/v2/${P}/tasks`, { headers: { 'X-Sdk-Date': old } });
    assertError(r, 401, 'DCS.1002');
    assert.match(r.body.error_msg, /more than 15 minutes/);
    // A malformed date is the same code, saying what is wrong with it (not "15 minutes away").
    const bad = await admin.get(`/v2/${P}/tasks`, { headers: { 'X-Sdk-Date': '20261301T000000Z' } });
    assertError(bad, 401, 'DCS.1002');
    assert.match(bad.body.error_msg, /YYYYMMDDTHHMMSSZ/);
  });
  test('credential of another project → 401 DCS.1004', async () => {
    assertError(await call(svc.url, svc.other, 'GET', `/v2/${svc.admin.project_id}/tasks`, { projectHeader: false }), 401, 'DCS.1004');
    assertError(await admin.get(`/v2/${P}/tasks`, { headers: { 'X-Project-Id': svc.other.project_id } }), 401, 'DCS.1004');
  });
  test('read-only credential: reads work, every change → 403 DCS.3002 and nothing changes', async () => {
    assert.equal((await reader.get(`/v2/${P}/instances/${instanceId}/tasks`)).status, 200);
    assertError(await reader.del(`/v2/${P}/instances/${instanceId}/tasks/${taskId}`), 403, 'DCS.3002');
    assertError(await reader.del(`/v2/${P}/tasks/${taskId}`), 403, 'DCS.3002');
    assertError(await reader.put(`/v2/${P}/instances/status`, { instances: [instanceId], action: 'flush' }), 403, 'DCS.3002');
    assertError(await reader.del(`/v2/${P}/instances/${instanceId}`), 403, 'DCS.3002');
    const r = await admin.get(`/v2/${P}/instances/${instanceId}/tasks`);
    assert.equal(r.body.task_count, '1');
  });
  test('order: auth before formats, formats before existence', async () => {
    assertError(await call(svc.url, null, 'DELETE', `/v2/${svc.admin.project_id}/instances/bad/tasks/bad`), 401, 'DCS.1003');
    assertError(await reader.del(`/v2/${P}/instances/bad/tasks/bad`), 403, 'DCS.3002');
    assertError(await admin.del(`/v2/${P}/instances/${UNKNOWN_INSTANCE}/tasks/bad`), 400, 'DCS.4070');
  });
});

describe('parameters and bodies', () => {
  test('bad paging and times → 400 DCS.4800 naming the parameter', async () => {
    for (const [name, value] of [['limit', '0'], ['limit', '1001'], ['limit', 'x'], ['offset', '-1'], ['offset', '1.5'], ['start_time', '2020'], ['end_time', '20200231000000'], ['start_time', '20201301000000']]) {
      const r = await admin.get(`/v2/${P}/instances/${instanceId}/tasks`, { query: { [name]: value } });
      assertError(r, 400, 'DCS.4800');
      assert.match(r.body.error_msg, new RegExp(name));
      assertError(await admin.get(`/v2/${P}/tasks`, { query: { [name]: value } }), 400, 'DCS.4800');
    }
  });
  test('any offset of 0 or more is a page: one past every list is empty, with the exact count', async () => {
    const own = `/v2/${P}/instances/${instanceId}/tasks`;
    const count = (await admin.get(own)).body.task_count;
    const centre = (await admin.get(`/v2/${P}/tasks`)).body.task_count;
    const instances = (await admin.get(`/v2/${P}/instances`)).body.instance_num;
    for (const offset of ['2000000001', '99999999999999999999']) {
      assert.deepEqual((await admin.get(own, { query: { offset } })).body, { task_count: count, tasks: [] });
      const c = await admin.get(`/v2/${P}/tasks`, { query: { offset } });
      assert.equal(c.status, 200, c.text);
      assert.equal(c.body.task_count, centre);
      assert.deepEqual(c.body.tasks, []);
      const i = await admin.get(`/v2/${P}/instances`, { query: { offset } });
      assert.equal(i.status, 200, i.text);
      assert.deepEqual([i.body.instance_num, i.body.instances], [instances, []]);
    }
    const padded = await admin.get(own, { query: { offset: `${'0'.repeat(30)}1` } });
    assert.deepEqual(padded.body, (await admin.get(own, { query: { offset: '1' } })).body);
  });
  test('end_time before start_time → 400 DCS.4025', async () => {
    assertError(await admin.get(`/v2/${P}/tasks`, { query: { start_time: '20240102000000', end_time: '20240101000000' } }), 400, 'DCS.4025');
  });
  test('body not JSON → 400 DCS.4005; message of the wrong type or too long → 400 DCS.4800', async () => {
    const broken = '{"message": ';
    const r = await call(svc.url, svc.admin, 'DELETE', `/v2/${svc.admin.project_id}/tasks/${taskId}`, {
      headers: { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' }, rawBody: broken,
    });
    assertError(r, 400, 'DCS.4005');
    assertError(await admin.del(`/v2/${P}/tasks/${taskId}`, { body: { message: 42 } }), 400, 'DCS.4800');
    assertError(await admin.del(`/v2/${P}/tasks/${taskId}`, { body: { message: 'x'.repeat(1025) } }), 400, 'DCS.4800');
    assertError(await admin.del(`/v2/${P}/tasks/${taskId}`, { body: [1, 2] }), 400, 'DCS.4800');
    assert.equal((await admin.get(`/v2/${P}/jobs/${taskId}`)).status, 200, 'refused deletes changed nothing');
  });
  test('a body that is not UTF-8 → 400 DCS.4005 and nothing changes; a GET\'s body is not read as JSON', async () => {
    const raw = Buffer.concat([Buffer.from('{"message":"bad-'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    const r = await call(svc.url, svc.admin, 'DELETE', `/v2/${svc.admin.project_id}/tasks/${taskId}`, {
      headers: { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' }, rawBody: raw,
    });
    assertError(r, 400, 'DCS.4005');
    assert.match(r.body.error_msg, /UTF-8/);
    assert.equal((await admin.get(`/v2/${P}/jobs/${taskId}`)).status, 200, 'the refused delete changed nothing');
    const get = await call(svc.url, svc.admin, 'GET', `/v2/${svc.admin.project_id}/tasks`, {
      headers: { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD', 'content-type': 'text/plain' }, rawBody: 'garbage{',
    });
    assert.equal(get.status, 200, get.text);
  });
  test('U+0000 or a lone surrogate in a body or query → 400 DCS.4800 naming where, on either store, and nothing changes', async () => {
    const show = async () => (await admin.get(`/v2/${P}/instances/${instanceId}`)).body;
    const before = (await show()).description;
    for (const [description, where] of [['a\u0000b', 'description'], ['\ud800x', 'description'], ['x\udc00', 'description']]) {
      const r = await admin.put(`/v2/${P}/instances/${instanceId}`, { description });
      assertError(r, 400, 'DCS.4800');
      assert.match(r.body.error_msg, new RegExp(`parameter ${where}.*U\\+0000 or an unpaired surrogate`), r.text);
    }
    const nested = await admin.put(`/v2/${P}/instances/${instanceId}`, { description: 'ok', tags: [{ key: 'k', value: 'v\u0000' }] });
    assertError(nested, 400, 'DCS.4800');
    assert.match(nested.body.error_msg, /tags\[0\]\.value/);
    assert.equal((await show()).description, before, 'nothing changed');
    const del = await admin.del(`/v2/${P}/tasks/${taskId}`, { body: { message: 'bye\u0000' } });
    assertError(del, 400, 'DCS.4800');
    assert.equal((await admin.get(`/v2/${P}/jobs/${taskId}`)).status, 200, 'the task is still there');
    const q = await admin.get(`/v2/${P}/instances`, { query: { name: 'a\u0000' } });
    assertError(q, 400, 'DCS.4800');
    assert.match(q.body.error_msg, /parameter name/);
    const twice = await admin.get(`/v2/${P}/instances/${instanceId}/tasks`, { query: { limit: ['1', '2'] } });
    assertError(twice, 400, 'DCS.4800');
    assert.match(twice.body.error_msg, /limit: is given more than once/);
    // A surrogate pair is one character: stored and shown as sent.
    assert.equal((await admin.put(`/v2/${P}/instances/${instanceId}`, { description: 'cache \ud83d\ude80' })).status, 204);
    assert.equal((await show()).description, 'cache \u{1F680}');
  });
  test('a body sent compressed (Content-Encoding, a transfer coding besides chunked) → 400 DCS.4800 naming the header; nothing changes', async () => {
    for (const [header, value] of [['Content-Encoding', 'gzip'], ['Content-Encoding', 'br'], ['Transfer-Encoding', 'gzip, chunked']]) {
      const r = await admin.del(`/v2/${P}/tasks/${taskId}`, { body: { message: 'bye' }, headers: { [header]: value } });
      assertError(r, 400, 'DCS.4800');
      assert.match(r.body.error_msg, new RegExp(header), r.text);
    }
    assert.equal((await admin.get(`/v2/${P}/jobs/${taskId}`)).status, 200, 'the task is still there');
  });
  test('a body over 1 MiB → 400 with the error body', async () => {
    const r = await call(svc.url, svc.admin, 'DELETE', `/v2/${svc.admin.project_id}/tasks/${taskId}`, {
      headers: { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' }, rawBody: JSON.stringify({ message: 'x'.repeat(2 * 1024 * 1024) }),
    });
    assertError(r, 400, 'DCS.4800');
  });
  test('no credentials at all → 401 DCS.1003 before the body is looked at, however large', async () => {
    for (const size of [10, 2 * 1024 * 1024]) {
      const r = await call(svc.url, null, 'DELETE', `/v2/${P}/tasks/${taskId}`, { rawBody: JSON.stringify({ message: 'x'.repeat(size) }) });
      assertError(r, 401, 'DCS.1003');
    }
    assert.equal((await admin.get(`/v2/${P}/jobs/${taskId}`)).status, 200, 'nothing deleted');
  });
  test('a body over 1 MiB with credentials that fail without it → their 401/403 first (api.md order), nothing deleted', async () => {
    const path = `/v2/${svc.admin.project_id}/tasks/${taskId}`;
    const rawBody = JSON.stringify({ message: 'x'.repeat(2 * 1024 * 1024) });
    const readerToken = (await reader.post(`/v2/${P}/tokens`, { ttl_seconds: 600 })).body.token as string;
    assert.ok(readerToken, 'a token of the read-only credential');
    const staleSignature = `SDK-HMAC-SHA256 Access=${svc.admin.access_key}, SignedHeaders=content-type;x-sdk-date, Signature=${'0'.repeat(64)}`;
    const cases: [string, Record<string, string>, number, string][] = [
      ['a malformed Authorization', { Authorization: 'garbage' }, 401, 'DCS.1001'],
      ['a signing time a day old', { Authorization: staleSignature, 'X-Sdk-Date': '20000101T000000Z' }, 401, 'DCS.1002'],
      ['an unknown token', { 'X-Auth-Token': 'dcs-no-such-token' }, 401, 'DCS.1001'],
      ['a read-only token on a delete', { 'X-Auth-Token': readerToken }, 403, 'DCS.3002'],
    ];
    for (const [what, headers, status, code] of cases) {
      const r = await call(svc.url, null, 'DELETE', path, { headers, rawBody });
      assert.equal(r.body.error_code, code, `${what}: ${r.text}`);
      assertError(r, status, code);
    }
    assert.equal((await admin.get(`/v2/${P}/jobs/${taskId}`)).status, 200, 'nothing deleted');
  });
});

describe('routes', () => {
  test('unknown route → 404 DCS.4001; known path with wrong method → 405 with Allow', async () => {
    assertError(await admin.get(`/v2/${P}/nothing-here`), 404, 'DCS.4001');
    assertError(await call(svc.url, null, 'GET', '/nothing-here'), 404, 'DCS.4001');
    const r = await admin.call('PATCH', `/v2/${P}/instances/${instanceId}/tasks/${taskId}`);
    assertError(r, 405, 'DCS.4001');
    assert.match(r.headers.get('allow') ?? '', /DELETE/);
    const post = await admin.post(`/v2/${P}/tasks`, {});
    assertError(post, 405, 'DCS.4001');
    assert.match(post.headers.get('allow') ?? '', /GET/);
  });
  test('health, openapi and metrics answer without auth', async () => {
    const h = await call(svc.url, null, 'GET', '/health');
    assert.equal(h.status, 200);
    assert.equal(h.body.status, 'ok');
    assert.match(h.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
    const o = await call(svc.url, null, 'GET', '/openapi.json');
    assert.equal(o.status, 200);
    assert.equal(o.body.openapi.slice(0, 1), '3');
    assert.ok(o.body.paths['/v2/{project_id}/instances/{instance_id}/tasks/{task_id}'].delete);
    const m = await call(svc.url, null, 'GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.text, /dcs_http_requests_total\{route="\/v2\/:project_id\/instances\/:instance_id\/tasks\/:task_id",method="DELETE",status="404"\} \d+/);
    assert.match(m.text, /dcs_tasks\{status="SUCCESS"\} 1/);
    // The process metrics join a moment after start (prom-client's entry module is loaded then).
    const withProcess = await waitFor(async () => {
      const r = await call(svc.url, null, 'GET', '/metrics');
      return /^process_cpu_user_seconds_total \d/m.test(r.text) ? r.text : null;
    }, 10_000, 'process metrics in /metrics');
    assert.match(withProcess, /^nodejs_eventloop_lag_seconds \d/m);
    assert.match(withProcess, /dcs_http_requests_total\{/);
  });
  test('each request id appears in the log line for that request', async () => {
    const r = await admin.get(`/v2/${P}/tasks`);
    const id = r.headers.get('x-request-id')!;
    await waitFor(async () => svc.output().includes(id), 5000, 'log line');
    const line = svc.output().split('\n').find((l) => l.includes(id) && l.includes('"status"'))!;
    const entry = JSON.parse(line);
    assert.equal(entry.status, 200);
    assert.equal(entry.method, 'GET');
    assert.equal(entry.route, '/v2/:project_id/tasks');
    assert.equal(typeof entry.duration_ms, 'number');
  });
});
