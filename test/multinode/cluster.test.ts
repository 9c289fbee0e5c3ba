/**
 * Three `dcs-tasks serve` processes on one PostgreSQL schema: credentials and tokens work on
 * every node, tasks requested on any node run exactly once (FLUSHALL calls counted in Redis),
 * concurrent deletes on different nodes give one 200, creates racing on every node stop at the
 * project's instance quota, and a node killed with kill -9 mid-task
 * loses nothing: its attached-instance tasks are taken over and finish, its managed instance's
 * task fails with a reason, the instance shows ERROR until the node is back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { makeCredential, readTestCredentials, startService, tempDir, type Service } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { dropDatabase, query, testDatabaseUrl } from '../helpers/db.js';

const STEP_DELAY_MS = 2500;
const QUOTA = 8;
const env = { DCS_LEASE_MS: '3000', DCS_STEP_DELAY_MS: String(STEP_DELAY_MS), DCS_INSTANCE_QUOTA: String(QUOTA) };
const database = testDatabaseUrl(tempDir(), 'postgres');
const project = randomBytes(16).toString('hex');
const alice = makeCredential(project, 'admin', 'alice');

let nodes: Service[] = [];
let clients: Client[] = [];
const redises: TestRedis[] = [];
const attached: string[] = [];

const nodeIdOf = (s: Service) => fs.readFileSync(path.join(s.dataDir, 'node-id'), 'utf8').trim();

async function flushCalls(port: number, password?: string): Promise<number> {
  const r = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    const m = /cmdstat_flushall:calls=(\d+)/.exec(await r.info('commandstats'));
    return m ? Number(m[1]) : 0;
  } finally {
    r.disconnect();
  }
}

async function finished(c: Client, jobId: string) {
  return waitFor(async () => {
    const r = await c.get(`/v2/{p}/jobs/${jobId}`);
    return r.status === 200 && (r.body.status === 'SUCCESS' || r.body.status === 'FAIL') && r.body;
  }, 60_000, `job ${jobId} finished`);
}

async function flush(c: Client, instanceId: string): Promise<string> {
  const r = await c.put('/v2/{p}/instances/status', { instances: [instanceId], action: 'flush' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.results[0].result, 'success', r.text);
  // The status route answers per instance, not per task: the new task is the instance's unfinished one.
  const { tasks } = (await c.get(`/v2/{p}/instances/${instanceId}/tasks`)).body;
  const t = tasks.find((x: any) => x.name === 'flushInstance' && x.status !== 'SUCCESS' && x.status !== 'FAILED');
  assert.ok(t, JSON.stringify(tasks));
  return t.id;
}

before(async () => {
  // Only the first node knows alice; the others have credentials of their own.
  const a = await startService({ database, env, credentials: [alice] });
  const b = await startService({ database, env, credentials: [makeCredential(project, 'admin', 'bruno')] });
  const c = await startService({ database, env, credentials: [makeCredential(project, 'admin', 'chen')] });
  nodes = [a, b, c];
  clients = nodes.map((n) => client(n.url, alice));
  for (let i = 0; i < 4; i++) {
    const redis = await startRedis();
    redises.push(redis);
    const r = await clients[i % 3]!.post('/v2/{p}/instances', {
      name: `shared-${i}`, engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redis.url, no_password_access: true,
    });
    assert.equal(r.status, 200, r.text);
    attached.push(r.body.instances[0].instance_id);
  }
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.all(redises.map((r) => r.stop()));
  await dropDatabase(database);
});

/** dcs_task_failures_total of flushInstance with DCS.5000, summed over `services`' /metrics. */
async function nodeFailures(services: Service[]): Promise<number> {
  let sum = 0;
  for (const svc of services) {
    const text = await (await fetch(`${svc.url}/metrics`)).text();
    const m = /^dcs_task_failures_total\{task_name="flushInstance",error_code="DCS\.5000"\} (\d+)$/m.exec(text);
    sum += m ? Number(m[1]) : 0;
  }
  return sum;
}

test('a credential from one node\'s file, and a token issued on one node, work on every node', async () => {
  for (const c of clients) assert.equal((await c.get('/v2/{p}/instances')).status, 200);
  const bruno = client(nodes[2]!.url, readTestCredentials(nodes[1]!.dataDir)[0]!);
  assert.equal((await bruno.get('/v2/{p}/instances')).status, 200);
  const t = await clients[0]!.post('/v2/{p}/tokens', { ttl_seconds: 600 });
  assert.equal(t.status, 200, t.text);
  const viaToken = await client(nodes[2]!.url, null).call('GET', `/v2/${project}/instances`, { headers: { 'X-Auth-Token': t.body.token } });
  assert.equal(viaToken.status, 200, viaToken.text);
});

test('flushes requested on all three nodes each run exactly once', async () => {
  const before = await Promise.all(redises.map((r) => flushCalls(r.port)));
  for (let round = 0; round < 2; round++) {
    const jobs = await Promise.all(attached.map((id, i) => flush(clients[(round + i) % 3]!, id)));
    const done = await Promise.all(jobs.map((j) => finished(clients[0]!, j)));
    assert.deepEqual(done.map((d) => d.status), attached.map(() => 'SUCCESS'));
  }
  const afterCalls = await Promise.all(redises.map((r) => flushCalls(r.port)));
  assert.deepEqual(afterCalls.map((n, i) => n - before[i]!), attached.map(() => 2));
});

test('concurrent deletes of one task on different nodes: one 200, the rest 404', async () => {
  const { tasks } = (await clients[0]!.get(`/v2/{p}/instances/${attached[0]}/tasks`)).body;
  assert.ok(tasks.length >= 2);
  for (const t of tasks.slice(0, 2)) {
    const replies = await Promise.all([...clients, ...clients].map((c) => c.del(`/v2/{p}/instances/${attached[0]}/tasks/${t.id}`)));
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 404, 404, 404, 404, 404]);
  }
  const audit = await query(database, 'SELECT COUNT(*) AS n FROM task_audit');
  assert.equal(Number(audit[0]!.n), 2);
});

test('tag changes of one instance on three nodes at once: every key is kept, every delete lands', async () => {
  const url = `/v2/{p}/dcs/${attached[1]}/tags/action`;
  const tags = async () => (await clients[0]!.get(`/v2/{p}/instances/${attached[1]}`)).body.tags.map((t: any) => t.key).sort();
  const keys = Array.from({ length: 18 }, (_, k) => `n${k}`);
  const created = await Promise.all(keys.map((key, k) => clients[k % 3]!.post(url, { action: 'create', tags: [{ key, value: key }] })));
  assert.deepEqual(created.map((r) => r.status), keys.map(() => 204), created.map((r) => r.text).join('\n'));
  assert.deepEqual(await tags(), [...keys].sort());
  const deleted = await Promise.all(keys.map((key, k) => clients[k % 3]!.post(url, { action: 'delete', tags: [{ key }] })));
  assert.deepEqual(deleted.map((r) => r.status), keys.map(() => 204));
  assert.deepEqual(await tags(), []);
});

test('creates racing on three nodes stop at the instance quota: the rest get DCS.4109, none is stored', async () => {
  const before = (await clients[0]!.get('/v2/{p}/instances')).body.instance_num;
  assert.equal(before, attached.length);
  const room = QUOTA - before;
  const results = await Promise.all(Array.from({ length: room + 12 }, (_, k) => clients[k % 3]!.post('/v2/{p}/instances', {
    name: `quota-${k}`, engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redises[0]!.url, no_password_access: true,
  })));
  const created = results.filter((r) => r.status === 200).map((r) => r.body.instances[0].instance_id as string);
  assert.equal(created.length, room, results.map((r) => r.text).join('\n'));
  for (const r of results.filter((x) => x.status !== 200)) {
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error_code, 'DCS.4109', r.text);
  }
  for (const c of clients) assert.equal((await c.get('/v2/{p}/instances')).body.instance_num, QUOTA);
  for (const id of created) assert.equal((await clients[0]!.del(`/v2/{p}/instances/${id}`)).status, 204);
});

test('kill -9 of a node mid-task: its attached tasks finish elsewhere, its managed instance fails over to ERROR with a reason', async () => {
  const [a, b, c] = nodes as [Service, Service, Service];
  const [ca, cb, cc] = clients as [Client, Client, Client];
  const password = 'Managed#Pass123';
  const created = await cb.post('/v2/{p}/instances', { name: 'owned-by-b', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password });
  assert.equal(created.status, 200, created.text);
  const managed = created.body.instances[0].instance_id;
  const port = (await waitFor(async () => {
    const x = await ca.get(`/v2/{p}/instances/${managed}`);
    return x.body.status === 'RUNNING' && x;
  })).body.port;
  const m = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 1 });
  await m.set('survivor', '1');
  m.disconnect();
  const flushesBefore = await Promise.all(redises.map((r) => flushCalls(r.port)));
  const failuresBefore = await nodeFailures([a, c]);

  // a and c are paused (SIGSTOP) while the tasks are requested on b, so b claims all of them:
  // the managed one (only b may run it) and the attached ones (which a and c must then take over).
  const pause = (sig: 'SIGSTOP' | 'SIGCONT') => { for (const n of [a, c]) process.kill(n.proc.pid!, sig); };
  pause('SIGSTOP');
  let managedJob: string;
  let jobs: string[];
  const bNode = nodeIdOf(b);
  try {
    managedJob = await flush(cb, managed);
    jobs = await Promise.all(attached.map((id) => flush(cb, id)));
    // Kill b while every task it holds is in the pause before its FLUSHALL step: no effect has happened yet.
    await waitFor(async () => {
      const rows = await query(database,
        `SELECT t.id, s.status, s.begin_at FROM tasks t JOIN task_steps s ON s.task_id = t.id AND s.idx = 0
         WHERE t.lease_owner LIKE $1 AND t.status = 'EXECUTING'`, [`${bNode}/%`]);
      const fresh = rows.filter((r) => r.status === 'EXECUTING' && Date.now() - Number(r.begin_at) < STEP_DELAY_MS / 2);
      return rows.length === attached.length + 1 && fresh.length === rows.length;
    }, 20_000, 'b holding all five tasks before their first step');
    await b.kill9();
  } finally {
    pause('SIGCONT');
  }

  const results = await Promise.all([...jobs, managedJob].map((j) => finished(ca, j)));
  const managedResult = results.pop()!;
  assert.deepEqual(results.map((r) => r.status), attached.map(() => 'SUCCESS'));
  assert.equal(managedResult.status, 'FAIL');
  assert.match(managedResult.fail_reason, new RegExp(`service node ${bNode}.*stopped`));
  const failed = (await ca.get(`/v2/{p}/instances/${managed}/tasks`)).body.tasks.find((t: any) => t.id === managedJob);
  assert.equal(failed.status, 'FAILED');
  // The node that wrote the failure counts it: summed over the live nodes, one more.
  assert.equal(await nodeFailures([a, c]), failuresBefore + 1, 'the failure is in /metrics');

  // Exactly one FLUSHALL per attached task, none on the managed instance (nobody else ran it).
  const flushesAfter = await Promise.all(redises.map((r) => flushCalls(r.port)));
  assert.deepEqual(flushesAfter.map((n, i) => n - flushesBefore[i]!), attached.map(() => 1));
  assert.equal(await flushCalls(port, password), 0);
  const active = await query(database, `SELECT COUNT(*) AS n FROM tasks WHERE status IN ('CREATED','WAITING','EXECUTING')`);
  assert.equal(Number(active[0]!.n), 0);

  // While b is down its instance shows ERROR and refuses operations; attached ones keep working.
  assert.equal((await cc.get(`/v2/{p}/instances/${managed}`)).body.status, 'ERROR');
  const refused = await cc.put('/v2/{p}/instances/status', { instances: [managed], action: 'flush' });
  assert.equal(refused.status, 400, refused.text);
  assert.equal(refused.body.error_code, 'DCS.4049');
  assert.match(refused.body.error_msg, /not running/);
  // Among several, the down node's instance is `failed` and the others still run.
  const mixed = await cc.put('/v2/{p}/instances/status', { instances: [managed, attached[0]], action: 'flush' });
  assert.equal(mixed.status, 200, mixed.text);
  assert.deepEqual(mixed.body.results, [{ instance: managed, result: 'failed' }, { instance: attached[0], result: 'success' }]);
  const ran = (await cc.get(`/v2/{p}/instances/${attached[0]}/tasks`)).body.tasks[0];
  assert.equal((await finished(ca, ran.id)).status, 'SUCCESS');

  // b comes back (same data directory, same node id) and supervises its instance again.
  await b.restart();
  clients[1] = client(b.url, alice);
  await waitFor(async () => (await cc.get(`/v2/{p}/instances/${managed}`)).body.status === 'RUNNING', 30_000, 'instance RUNNING again');
  const again = await finished(ca, await flush(cc, managed));
  assert.equal(again.status, 'SUCCESS');
  const m2 = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 1 });
  assert.equal(await m2.get('survivor'), null);
  m2.disconnect();
});

test('a node stopped with SIGTERM mid-task keeps its task for its return; a killed node\'s task is failed meanwhile', async () => {
  const [, b, c] = nodes as [Service, Service, Service];
  const [ca] = clients as [Client, Client, Client];
  const password = 'Managed#Pass123';
  const createOn = async (cl: Client, name: string) => {
    const r = await cl.post('/v2/{p}/instances', { name, engine: 'Redis', engine_version: '7.0', capacity: 0.25, password });
    assert.equal(r.status, 200, r.text);
    const id: string = r.body.instances[0].instance_id;
    await waitFor(async () => (await ca.get(`/v2/{p}/instances/${id}`)).body.status === 'RUNNING', 30_000, `${name} RUNNING`);
    return id;
  };
  const ofB = await createOn(clients[1]!, 'stopped-owner');
  const ofC = await createOn(clients[2]!, 'killed-owner');
  const [bNode, cNode] = [nodeIdOf(b), nodeIdOf(c)];
  const jobB = await flush(clients[1]!, ofB);
  const jobC = await flush(clients[2]!, ofC);
  // Both owners hold their task in its first step (the pause before FLUSHALL).
  await waitFor(async () => {
    const rows = await query(database,
      `SELECT t.lease_owner FROM tasks t JOIN task_steps s ON s.task_id = t.id AND s.idx = 0
       WHERE t.id IN ($1, $2) AND t.status = 'EXECUTING' AND s.status = 'EXECUTING'`, [jobB, jobC]);
    const owners = rows.map((r) => String(r.lease_owner).split('/')[0]).sort();
    return owners.length === 2 && owners.join() === [bNode, cNode].sort().join();
  }, 20_000, 'b and c each in their task\'s first step');
  assert.equal(await b.stop(), 0, 'a SIGTERM exits 0');
  await c.kill9();

  // The peers judge c dead and fail its task: by then they have judged b as well.
  const failedC = await finished(ca, jobC);
  assert.equal(failedC.status, 'FAIL');
  assert.match(failedC.fail_reason, new RegExp(`service node ${cNode}`));
  const heldB = (await ca.get(`/v2/{p}/jobs/${jobB}`)).body;
  assert.ok(['INIT', 'RUNNING'].includes(heldB.status), `b's task was not kept for b's return: ${JSON.stringify(heldB)}`);
  const shownB = await ca.get(`/v2/{p}/instances/${ofB}`);
  assert.equal(shownB.body.status, 'ERROR', 'a stopped node\'s instance is down at once');
  const refused = await ca.put('/v2/{p}/instances/status', { instances: [ofB], action: 'restart' });
  assert.equal(refused.status, 400, refused.text);
  assert.equal(refused.body.error_code, 'DCS.4049');

  await b.restart();
  clients[1] = client(b.url, alice);
  const resumed = await finished(ca, jobB);
  assert.equal(resumed.status, 'SUCCESS', JSON.stringify(resumed));
  await c.restart();
  clients[2] = client(c.url, alice);
  await waitFor(async () => (await ca.get(`/v2/{p}/instances/${ofC}`)).body.status === 'RUNNING', 30_000, 'c\'s instance back');
});

test('an instance deleted through another node: its redis-server stops and its files go on the node that ran it', async () => {
  const [, b] = nodes as [Service, Service, Service];
  const [ca] = clients as [Client, Client, Client];
  const password = 'Managed#Pass123';
  const r = await clients[1]!.post('/v2/{p}/instances', { name: 'deleted-elsewhere', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password });
  assert.equal(r.status, 200, r.text);
  const id: string = r.body.instances[0].instance_id;
  const port: number = (await waitFor(async () => {
    const x = await ca.get(`/v2/{p}/instances/${id}`);
    return x.body.status === 'RUNNING' && x.body;
  }, 30_000, 'RUNNING')).port;
  const dir = path.join(b.dataDir, 'instances', id);
  assert.ok(fs.existsSync(dir));
  const supervised = async () => (await client(b.url, null).get('/health')).body.managed_redis.total as number;
  const before = await supervised();
  assert.equal((await ca.del(`/v2/{p}/instances/${id}`)).status, 204, 'deleted through a, not b');
  const listening = () => new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  await waitFor(async () => !(await listening()) && !fs.existsSync(dir), 10_000, 'b stopped the deleted instance\'s redis-server and removed its files');
  assert.equal(await supervised(), before - 1);
});
