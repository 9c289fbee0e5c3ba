/**
 * PostgreSQL unreachable during traffic (a proxy in front of it turns into a black hole): every
 * request gets 500 DCS.5000 with the normal error body within a bounded time, nothing a refused
 * request asked for happens, and the service recovers by itself when the database is back,
 * finishing the task that was running across the outage.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, tempDir, type Service } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { PG_URL, dropDatabase, testDatabaseUrl } from '../helpers/db.js';

/** Statement timeout 5 s + connect timeout 3 s in the store: no request may take much longer. */
const BOUND_MS = 12_000;

let proxy: TcpProxy;
let svc: Service;
let redis: TestRedis;
let admin: Client;
let instanceId: string;
let direct: string;
let viaProxy: string;
let second: Service | undefined;
const env = { DCS_LEASE_MS: '3000', DCS_STEP_DELAY_MS: '1000' };

const taskOf = async (id: string) => (await admin.get(`/v2/{p}/instances/${instanceId}/tasks`)).body.tasks?.find((t: any) => t.id === id);

async function flush(): Promise<string> {
  const r = await admin.put('/v2/{p}/instances/status', { instances: [instanceId], action: 'flush' });
  assert.equal(r.status, 200, r.text);
  const { tasks } = (await admin.get(`/v2/{p}/instances/${instanceId}/tasks`)).body;
  return tasks.find((t: any) => t.status !== 'SUCCESS' && t.status !== 'FAILED').id;
}

const finished = (id: string) =>
  waitFor(async () => {
    const t = await taskOf(id);
    return t && (t.status === 'SUCCESS' || t.status === 'FAILED') && t;
  }, 60_000, `task ${id} finished`);

before(async () => {
  const pg = new URL(PG_URL);
  proxy = await startTcpProxy(pg.hostname, Number(pg.port || 5432));
  direct = testDatabaseUrl(tempDir(), 'postgres');
  const u = new URL(direct);
  u.port = String(proxy.port);
  viaProxy = u.toString();
  svc = await startService({ database: viaProxy, env });
  admin = client(svc.url, svc.admin);
  redis = await startRedis();
  const r = await admin.post('/v2/{p}/instances', {
    name: 'outage', engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redis.url, no_password_access: true,
  });
  assert.equal(r.status, 200, r.text);
  instanceId = r.body.instances[0].instance_id;
});

after(async () => {
  if (process.env.DEBUG_OUTAGE) console.log(svc?.output().slice(-6000));
  proxy?.unblock();
  await second?.stop();
  await svc?.stop();
  await redis?.stop();
  await proxy?.close();
  await dropDatabase(direct);
});

test('database unreachable: bounded 500 DCS.5000 on every route, then recovery by itself', async () => {
  const done = await finished(await flush());
  assert.equal(done.status, 'SUCCESS');
  const running = await flush();
  const r = redis.client();
  await r.set('kept-through-outage', '1');

  proxy.block();
  const calls: [string, () => ReturnType<Client['get']>][] = [
    ['list', () => admin.get(`/v2/{p}/instances/${instanceId}/tasks`)],
    ['centre', () => admin.get('/v2/{p}/tasks')],
    ['progress', () => admin.get(`/v2/{p}/instances/${instanceId}/tasks/${done.id}/progress`)],
    ['delete', () => admin.del(`/v2/{p}/instances/${instanceId}/tasks/${done.id}`)],
    ['instance', () => admin.get(`/v2/{p}/instances/${instanceId}`)],
  ];
  const replies = await Promise.all(calls.map(async ([name, f]) => {
    const t0 = Date.now();
    const reply = await f();
    return { name, reply, ms: Date.now() - t0 };
  }));
  for (const { name, reply, ms } of replies) {
    assert.equal(reply.status, 500, `${name}: ${reply.text}`);
    assert.deepEqual(Object.keys(reply.body).sort(), ['error_code', 'error_ext_msg', 'error_msg'], name);
    assert.equal(reply.body.error_code, 'DCS.5000', name);
    assert.doesNotMatch(reply.text, /\bat \S+ \(|ECONNRESET|timeout exceeded|pg_|SELECT/i, `${name} leaks internals: ${reply.text}`);
    assert.match(reply.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
    assert.ok(ms < BOUND_MS, `${name} took ${ms} ms`);
  }
  const health = await admin.get('/health');
  assert.equal(health.status, 200, 'the process itself stays up');

  proxy.unblock();
  const back = await waitFor(async () => {
    const x = await admin.get(`/v2/{p}/instances/${instanceId}/tasks`);
    return x.status === 200 && x;
  }, 30_000, 'the API answering again');
  // The delete refused during the outage did not happen; it does now.
  assert.ok(back.body.tasks.some((t: any) => t.id === done.id));
  assert.equal((await admin.del(`/v2/{p}/instances/${instanceId}/tasks/${done.id}`)).status, 200);
  // The task running across the outage ends, resumed or failed with a reason; none stays EXECUTING.
  const after = await finished(running);
  if (after.status === 'FAILED') assert.ok(after.fail_reason, 'a failed task says why');
  else assert.equal(await r.get('kept-through-outage'), null, 'a flush that says SUCCESS flushed');
  r.disconnect();
  // And new work runs.
  assert.equal((await finished(await flush())).status, 'SUCCESS');
});

test('an outage longer than a node\'s dead interval: every node reconnects, none fails another\'s tasks', async () => {
  // A second node, owner of a managed instance; both nodes reach the database through the proxy.
  second = await startService({ database: viaProxy, env, credentials: [svc.admin, svc.reader, svc.other] });
  const owner = client(second.url, svc.admin);
  const created = await owner.post('/v2/{p}/instances', { name: 'owned', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password: 'Owned#Pass123' });
  assert.equal(created.status, 200, created.text);
  const managed = created.body.instances[0].instance_id;
  await waitFor(async () => (await admin.get(`/v2/{p}/instances/${managed}`)).body.status === 'RUNNING', 30_000, 'managed instance RUNNING');
  // Let the first node beat long enough that, without the guard, it would judge the others.
  await new Promise((r) => setTimeout(r, 7000));
  const r = await admin.put('/v2/{p}/instances/status', { instances: [managed], action: 'flush' });
  assert.equal(r.status, 200, r.text);
  const task = (await admin.get(`/v2/{p}/instances/${managed}/tasks`)).body.tasks[0];
  await waitFor(async () => (await admin.get(`/v2/{p}/jobs/${task.id}`)).body.status === 'RUNNING', 10_000, 'flush running');

  // Database gone for longer than the dead-node interval (two 3 s leases).
  proxy.block();
  await new Promise((r) => setTimeout(r, 9000));
  proxy.unblock();

  const job = await waitFor(async () => {
    const j = await admin.get(`/v2/{p}/jobs/${task.id}`);
    return j.status === 200 && (j.body.status === 'SUCCESS' || j.body.status === 'FAIL') && j.body;
  }, 60_000, 'flush finished after the outage');
  // Resumed by its own node, not failed by the first node as "stopped", nor failed with a database error.
  assert.equal(job.status, 'SUCCESS', JSON.stringify(job));
  assert.equal((await admin.get(`/v2/{p}/instances/${managed}`)).body.status, 'RUNNING');
});
