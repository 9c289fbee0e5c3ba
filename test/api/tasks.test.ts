/**
 * The founding flow end to end: create a managed instance, run an operation, watch its task
 * appear, run and finish, read it every way the API offers, and delete it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { query } from '../helpers/db.js';
import { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let svc: Service;
let admin: Client;
let instanceId: string;
let port: number;
const PASSWORD = 'Secret#Pass123';
const P = '{p}';
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

before(async () => {
  svc = await startService();
  admin = client(svc.url, svc.admin);
  const created = await admin.post(`/v2/${P}/instances`, {
    name: 'cache-main', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: PASSWORD,
    vpc_id: 'ignored', subnet_id: 'ignored', spec_code: 'redis.single.xu1.tiny.128',
  });
  assert.equal(created.status, 200, created.text);
  assert.equal(created.body.order_id, null);
  assert.equal(created.body.instances[0].instance_name, 'cache-main');
  instanceId = created.body.instances[0].instance_id;
  const shown = await waitFor(async () => {
    const r = await admin.get(`/v2/${P}/instances/${instanceId}`);
    return r.body.status === 'RUNNING' && r;
  }, 20_000, 'instance RUNNING');
  port = shown.body.port;
  assert.equal(shown.body.engine, 'Redis');
  assert.equal(shown.body.capacity, 0, 'whole GB, 0 below 1 GB (automation.md §3.4)');
  assert.equal(shown.body.capacity_minor, '0.125');
  assert.equal(shown.body.no_password_access, 'false');
});

after(async () => {
  await svc?.stop();
});

const redis = () => new Redis({ host: '127.0.0.1', port, password: PASSWORD, maxRetriesPerRequest: 1 });

test('the instance is a real redis-server with the password and maxmemory from capacity', async () => {
  const r = redis();
  assert.equal(await r.ping(), 'PONG');
  assert.deepEqual(await r.config('GET', 'maxmemory'), ['maxmemory', String(128 * 1024 * 1024)]);
  r.disconnect();
  const anon = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  await assert.rejects(anon.get('x'), /NOAUTH/);
  anon.disconnect();
});

let taskId: string;

test('flush creates a task that runs to SUCCESS, and the data is really gone', async () => {
  const r = redis();
  await r.mset('a', '1', 'b', '2');
  const res = await admin.put(`/v2/${P}/instances/status`, { instances: [instanceId], action: 'flush' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body, { results: [{ instance: instanceId, result: 'success' }] });
  const list = await waitFor(async () => {
    const l = await admin.get(`/v2/${P}/instances/${instanceId}/tasks`);
    return l.body.tasks[0]?.status === 'SUCCESS' && l;
  }, 20_000, 'flush SUCCESS');
  assert.equal(await r.dbsize(), 0);
  r.disconnect();
  assert.equal(list.body.task_count, '1');
  const t = list.body.tasks[0];
  taskId = t.id;
  assert.match(t.id, /^[0-9a-f]{32}$/);
  assert.equal(t.name, 'flushInstance');
  assert.equal(t.user_name, 'alice');
  assert.equal(t.user_id, svc.admin.user_id);
  assert.deepEqual(JSON.parse(t.params), { action: 'flush', instances: [instanceId] });
  assert.match(t.created_at, ISO_MS);
  assert.match(t.updated_at, ISO_MS);
  assert.equal(t.enable_show, true);
  assert.deepEqual(t.details, {});
});

test('progress shows every step finished, 100 % and no time left', async () => {
  const r = await admin.get(`/v2/${P}/instances/${instanceId}/tasks/${taskId}/progress`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.progress, 100);
  assert.equal(r.body.remain_time, 0);
  assert.equal(r.body.step_details.length, 2);
  for (const [i, s] of r.body.step_details.entries()) {
    assert.equal(s.step_id, String(i + 1));
    assert.equal(s.step_status, 'FINISH');
    assert.match(s.begin_time, ISO_MS);
    assert.match(s.end_time, ISO_MS);
    assert.equal(s.error_code, null);
    assert.deepEqual(s.sub_step_details, []);
  }
});

test('job lookup and the task centre show the same task', async () => {
  const job = await admin.get(`/v2/${P}/jobs/${taskId}`);
  assert.equal(job.status, 200);
  assert.equal(job.body.job_id, taskId);
  assert.equal(job.body.job_type, 'flushInstance');
  assert.equal(job.body.status, 'SUCCESS');
  assert.match(job.body.begin_time, /^\d{13}$/);
  assert.match(job.body.end_time, /^\d{13}$/);
  assert.equal(job.body.fail_reason, null);
  const centre = await admin.get(`/v2/${P}/tasks`);
  assert.equal(centre.status, 200);
  const t = centre.body.tasks.find((x: any) => x.id === taskId);
  assert.equal(t.job_id, taskId);
  assert.equal(t.error_code, null);
  assert.equal(t.instance_id, instanceId);
  assert.equal(t.instance_name, 'cache-main');
});

test('paging and time filters: newest first, stable, end_time covers its second', async () => {
  for (let i = 0; i < 3; i++) {
    await admin.put(`/v2/${P}/instances/status`, { instances: [instanceId], action: 'flush' });
    await waitFor(async () => (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body.tasks[0].status === 'SUCCESS');
  }
  const all = (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`, { query: { limit: '100' } })).body;
  assert.equal(all.task_count, '4');
  const created = all.tasks.map((t: any) => t.created_at);
  assert.deepEqual([...created].sort().reverse(), created);
  const page1 = (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`, { query: { limit: '2', offset: '0' } })).body;
  const page2 = (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`, { query: { limit: '2', offset: '2' } })).body;
  assert.deepEqual([...page1.tasks, ...page2.tasks].map((t: any) => t.id), all.tasks.map((t: any) => t.id));
  assert.equal(page1.task_count, '4');
  const first = new Date(all.tasks.at(-1).created_at);
  const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const only = (await admin.get(`/v2/${P}/tasks`, { query: { start_time: stamp(first), end_time: stamp(first) } })).body;
  assert.ok(only.tasks.some((t: any) => t.id === all.tasks.at(-1).id), 'end_time includes the whole second');
  const future = (await admin.get(`/v2/${P}/tasks`, { query: { start_time: '20990101000000' } })).body;
  assert.deepEqual(future, { task_count: '0', tasks: [] });
});

test('DELETE with Content-Type: application/json and no body → 200 {"message":""}, then gone everywhere, audited', async () => {
  const r = await admin.del(`/v2/${P}/instances/${instanceId}/tasks/${taskId}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { message: '' });
  assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
  assert.equal((await admin.del(`/v2/${P}/instances/${instanceId}/tasks/${taskId}`)).status, 404);
  assert.equal((await admin.get(`/v2/${P}/jobs/${taskId}`)).status, 404);
  assert.equal((await admin.get(`/v2/${P}/instances/${instanceId}/tasks/${taskId}/progress`)).status, 404);
  const list = (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body;
  assert.ok(!list.tasks.some((t: any) => t.id === taskId));
  assert.ok(!(await admin.get(`/v2/${P}/tasks`)).body.tasks.some((t: any) => t.id === taskId));
  const [audit] = await query(svc.database, 'SELECT * FROM task_audit WHERE task_id = $1', [taskId]);
  assert.equal(audit.actor_name, 'alice');
  assert.equal(audit.last_status, 'SUCCESS');
  assert.equal(audit.instance_id, instanceId);
});

test('task-centre delete keeps its message in the audit record', async () => {
  const id = (await admin.get(`/v2/${P}/tasks`)).body.tasks[0].id;
  const r = await admin.del(`/v2/${P}/tasks/${id}`, { body: { message: 'cleaning up ✓ 清理' } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { message: '' });
  const [audit] = await query(svc.database, 'SELECT * FROM task_audit WHERE task_id = $1', [id]);
  assert.equal(audit.message, 'cleaning up ✓ 清理');
});

test('the instance-scoped delete takes the same optional message: kept in the audit, a bad one refused', async () => {
  const [id, other] = (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body.tasks.map((t: any) => t.id);
  for (const body of [{ message: 42 }, { message: 'x'.repeat(1025) }, [1, 2]]) {
    const bad = await admin.del(`/v2/${P}/instances/${instanceId}/tasks/${id}`, { body });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.body.error_code, 'DCS.4800', bad.text);
  }
  assert.equal((await admin.get(`/v2/${P}/jobs/${id}`)).status, 200, 'refused deletes changed nothing');
  const r = await admin.del(`/v2/${P}/instances/${instanceId}/tasks/${id}`, { body: { message: 'old run' } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { message: '' });
  const [audit] = await query(svc.database, 'SELECT * FROM task_audit WHERE task_id = $1', [id]);
  assert.equal(audit.message, 'old run');
  assert.equal(audit.instance_id, instanceId);
  const plain = await admin.del(`/v2/${P}/instances/${instanceId}/tasks/${other}`, { body: {} });
  assert.equal(plain.status, 200, plain.text);
});

test('a task that is still running cannot be deleted (400 DCS.4017) and a conflicting operation is refused', async () => {
  const stuck: TestRedis = await startRedis();
  try {
    const created = await admin.post(`/v2/${P}/instances`, {
      name: 'attached-stuck', engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: stuck.url, no_password_access: true,
    });
    assert.equal(created.status, 200, created.text);
    const id = created.body.instances[0].instance_id;
    stuck.proc.kill('SIGSTOP'); // Redis stops answering: the flush step hangs
    assert.equal((await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' })).status, 200);
    const running = await waitFor(async () => {
      const t = (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks[0];
      return t?.status === 'EXECUTING' && t;
    });
    const refused = await admin.del(`/v2/${P}/instances/${id}/tasks/${running.id}`);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error_code, 'DCS.4017');
    assert.equal((await admin.del(`/v2/${P}/tasks/${running.id}`)).body.error_code, 'DCS.4017');
    const conflict = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' });
    assert.equal(conflict.status, 400);
    assert.equal(conflict.body.error_code, 'DCS.4026');
    const delInstance = await admin.del(`/v2/${P}/instances/${id}`);
    assert.equal(delInstance.body.error_code, 'DCS.4026', 'an instance busy with a flush refuses deletion with the flush busy code (api.md)');
    const progress = (await admin.get(`/v2/${P}/instances/${id}/tasks/${running.id}/progress`)).body;
    assert.ok(progress.progress < 100);
    assert.equal(progress.step_details[0].step_status, 'EXECUTING');
    assert.equal((await admin.get(`/v2/${P}/jobs/${running.id}`)).body.status, 'RUNNING');
    assert.equal((await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.task_count, '1', 'no task was created by the refused request');
    stuck.proc.kill('SIGCONT');
    // The flush either completes once Redis answers again or fails on its command timeout.
    await waitFor(async () => ['SUCCESS', 'FAIL'].includes((await admin.get(`/v2/${P}/jobs/${running.id}`)).body.status), 30_000, 'flush finished');
    assert.equal((await admin.del(`/v2/${P}/tasks/${running.id}`)).status, 200);
  } finally {
    stuck.proc.kill('SIGCONT');
    await stuck.stop();
  }
});

test('deleting an instance stops its Redis; its finished tasks stay in the task centre', async () => {
  await admin.put(`/v2/${P}/instances/status`, { instances: [instanceId], action: 'flush' });
  const t = await waitFor(async () => {
    const x = (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body.tasks[0];
    return x?.status === 'SUCCESS' && x;
  });
  const r = await admin.del(`/v2/${P}/instances/${instanceId}`);
  assert.equal(r.status, 204, r.text);
  const c = new Redis({ host: '127.0.0.1', port, password: PASSWORD, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  c.on('error', () => {});
  await assert.rejects(c.connect());
  c.disconnect();
  assert.equal((await admin.get(`/v2/${P}/instances/${instanceId}`)).body.error_code, 'DCS.3022');
  assert.equal((await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body.error_code, 'DCS.3022');
  const centre = (await admin.get(`/v2/${P}/tasks`)).body.tasks.find((x: any) => x.id === t.id);
  assert.equal(centre.instance_name, 'cache-main');
  assert.equal((await admin.del(`/v2/${P}/tasks/${t.id}`)).status, 200);
});
