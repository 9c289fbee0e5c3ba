/**
 * How the typed client fails: DcsApiError with the service's code, status and request id for
 * every kind of refusal, and DcsNetworkError (never DcsApiError) when nothing answers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { DcsApiError, DcsNetworkError, DcsTasksClient } from '../../src/client/index.js';
import { startService, type Service } from '../helpers/service.js';
import { freePort } from '../helpers/redis.js';
import { finishedJob, newestTask, typedClient, untilRunning } from '../helpers/dcs-client.js';

let svc: Service;
let admin: DcsTasksClient;
let id: string;

// Each step waits 1.5 s first, so a task is reliably still running while we poke at it.
before(async () => {
  svc = await startService({ env: { DCS_STEP_DELAY_MS: '1500' } });
  admin = typedClient(svc, svc.admin);
  const r = await admin.createInstance({ name: 'errors-target', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: 'Errors#Pass123' });
  id = r.instances[0]!.instance_id;
  await untilRunning(admin, id);
});

after(async () => {
  await svc?.stop();
});

async function apiError(p: Promise<unknown>): Promise<DcsApiError> {
  const e = await p.then(() => assert.fail('expected a DcsApiError'), (x: unknown) => x);
  assert.ok(e instanceof DcsApiError, `not a DcsApiError: ${String(e)}`);
  assert.ok(!(e instanceof DcsNetworkError));
  assert.match(e.requestId ?? '', /^[0-9a-f]{32}$/, 'the X-Request-Id of the answer');
  assert.equal(e.name, 'DcsApiError');
  return e;
}

test('malformed ids: DCS.4061 / DCS.4070, status 400, message from error_msg', async () => {
  const badInstance = await apiError(admin.getInstance('NOT-A-UUID'));
  assert.equal(badInstance.errorCode, 'DCS.4061');
  assert.equal(badInstance.httpStatus, 400);
  assert.equal(badInstance.message, 'Invalid instance ID format.');
  const badTask = await apiError(admin.getTaskProgress(id, 'xyz'));
  assert.equal(badTask.errorCode, 'DCS.4070');
  assert.equal((await apiError(admin.getJob('0'.repeat(31)))).errorCode, 'DCS.4070');
  assert.equal((await apiError(admin.getJob('0'.repeat(32)))).httpStatus, 404);
});

test('credentials: wrong secret DCS.1001, another project DCS.1004, none DCS.1003, read-only DCS.3002', async () => {
  const wrong = new DcsTasksClient({ endpoint: svc.url, projectId: svc.admin.project_id, accessKey: svc.admin.access_key, secretKey: 'not-the-secret' });
  const e1 = await apiError(wrong.listInstances());
  assert.deepEqual([e1.errorCode, e1.httpStatus], ['DCS.1001', 401]);
  const other = new DcsTasksClient({ endpoint: svc.url, projectId: svc.admin.project_id, accessKey: svc.other.access_key, secretKey: svc.other.secret_key });
  assert.equal((await apiError(other.listInstances())).errorCode, 'DCS.1004');
  const anonymous = new DcsTasksClient({ endpoint: svc.url, projectId: svc.admin.project_id });
  assert.equal((await apiError(anonymous.listInstances())).errorCode, 'DCS.1003');
  const reader = typedClient(svc, svc.reader);
  assert.equal((await reader.getInstance(id)).instance_id, id, 'a read-only credential may read');
  const denied = await apiError(reader.flushInstances([id]));
  assert.deepEqual([denied.errorCode, denied.httpStatus], ['DCS.3002', 403]);
});

test('a running task: delete → DCS.4017, conflicting operation → state code, instance delete → the flush busy code DCS.4026', async () => {
  await admin.flushInstances([id]);
  const t = await newestTask(admin, id, 'flushInstance');
  const running = await apiError(admin.deleteTask(id, t.id));
  assert.deepEqual([running.errorCode, running.httpStatus], ['DCS.4017', 400]);
  assert.equal((await apiError(admin.deleteCentreTask(t.id, 'too early'))).errorCode, 'DCS.4017');
  const busy = await apiError(admin.restartInstances([id]));
  assert.equal(busy.errorCode, 'DCS.4026', 'a flush runs: the flush busy code (automation.md §1.3)');
  // api.md: an instance delete refused while a task runs gives that task's busy code.
  assert.equal((await apiError(admin.deleteInstance(id))).errorCode, 'DCS.4026');
  assert.equal((await finishedJob(admin, t.id, id)).status, 'SUCCESS');
  assert.deepEqual(await admin.deleteTask(id, t.id), { message: '' });
});

test('nothing listening: DcsNetworkError naming the cause, not a DcsApiError', async () => {
  const port = await freePort();
  const c = new DcsTasksClient({ endpoint: `http://127.0.0.1:${port}`, projectId: 'p1', accessKey: 'AK', secretKey: 'SK' });
  const e = await c.listInstances().catch((x) => x);
  assert.ok(e instanceof DcsNetworkError, String(e));
  assert.ok(!(e instanceof DcsApiError));
  assert.equal(e.timedOut, false);
  assert.match(e.message, /cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
});

test('a server that never answers: DcsNetworkError with timedOut after timeoutMs', async (t) => {
  const silent = net.createServer((s) => { s.on('error', () => {}); t.after(() => s.destroy()); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => silent.close());
  const c = new DcsTasksClient({ endpoint: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, projectId: 'p1', timeoutMs: 300 });
  const started = Date.now();
  const e = await c.listInstances().catch((x) => x);
  assert.ok(e instanceof DcsNetworkError, String(e));
  assert.equal(e.timedOut, true);
  assert.ok(Date.now() - started < 5000);
});

test('an error answer that is not a DCS body (a proxy, say): DcsApiError HTTP.<status>', async (t) => {
  const proxy = http.createServer((_q, res) => { res.writeHead(502, { 'content-type': 'text/html' }); res.end('<h1>Bad Gateway</h1>'); });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => proxy.close());
  const c = new DcsTasksClient({ endpoint: `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`, projectId: 'p1' });
  const e = await c.listInstances().catch((x) => x);
  assert.ok(e instanceof DcsApiError);
  assert.deepEqual([e.errorCode, e.httpStatus, e.requestId], ['HTTP.502', 502, null]);
});

test('bad options are refused at construction', () => {
  assert.throws(() => new DcsTasksClient({ endpoint: 'not a url', projectId: 'p' }), /endpoint is not a URL/);
  assert.throws(() => new DcsTasksClient({ endpoint: 'ftp://x', projectId: 'p' }), /http/);
  assert.throws(() => new DcsTasksClient({ endpoint: 'http://x', projectId: 'p', accessKey: 'AK' }), /go together/);
  assert.throws(() => new DcsTasksClient({ endpoint: 'http://x', projectId: '' }), /projectId/);
});
