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
  const viaProxy = new URL(direct);
  viaProxy.port = String(proxy.port);
  svc = await startService({ database: viaProxy.toString(), env: { DCS_LEASE_MS: '3000', DCS_STEP_DELAY_MS: '1000' } });
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
