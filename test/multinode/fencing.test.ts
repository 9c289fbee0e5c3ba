/**
 * Fencing (issue 8 §2): a node paused inside a step past its lease must not act when it wakes.
 * Two nodes on one PostgreSQL schema and an attached Redis. Node A claims a flush and is stopped
 * (SIGSTOP) inside the flush step, before FLUSHALL; node B takes the task over and finishes it;
 * new keys are written; A is resumed. Without fencing A would flush the new keys.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { makeCredential, startService, tempDir, type Service } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { dropDatabase, testDatabaseUrl } from '../helpers/db.js';

const env = { DCS_LEASE_MS: '2000', DCS_STEP_DELAY_MS: '1500' };
const database = testDatabaseUrl(tempDir(), 'postgres');
const project = randomBytes(16).toString('hex');
const alice = makeCredential(project, 'admin', 'alice');

let a: Service;
let b: Service;
let ca: Client;
let cb: Client;
let redis: TestRedis;
let data: Redis;

async function flushCalls(): Promise<number> {
  const m = /cmdstat_flushall:calls=(\d+)/.exec(await data.info('commandstats'));
  return m ? Number(m[1]) : 0;
}

before(async () => {
  a = await startService({ database, env, credentials: [alice] });
  b = await startService({ database, env, credentials: [alice] });
  ca = client(a.url, alice);
  cb = client(b.url, alice);
  redis = await startRedis();
  data = new Redis({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: 1 });
});

after(async () => {
  for (const s of [a, b]) s?.proc.kill('SIGCONT');
  data?.disconnect();
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
  await dropDatabase(database);
});

test('a node paused past its lease inside a flush does not flush what was written after the takeover', async () => {
  const created = await ca.post('/v2/{p}/instances', {
    name: 'fenced', engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redis.url, no_password_access: true,
  });
  assert.equal(created.status, 200, created.text);
  const id = created.body.instances[0].instance_id;
  await data.set('before', '1');

  // B is paused so that A claims the task.
  b.proc.kill('SIGSTOP');
  const r = await ca.put('/v2/{p}/instances/status', { instances: [id], action: 'flush' });
  assert.equal(r.status, 200, r.text);
  const task = (await ca.get(`/v2/{p}/instances/${id}/tasks`)).body.tasks[0];
  assert.equal(task.name, 'flushInstance');
  // A is inside the flush step (its step delay holds it before FLUSHALL): pause it there.
  await waitFor(async () => {
    const p = (await ca.get(`/v2/{p}/instances/${id}/tasks/${task.id}/progress`)).body;
    return p.step_details?.[0]?.step_status === 'EXECUTING';
  }, 10_000, 'A running the flush step');
  a.proc.kill('SIGSTOP');
  assert.equal(await flushCalls(), 0, 'A was paused before FLUSHALL');
  assert.equal(await data.get('before'), '1');

  // B takes the task over once A's lease has run out, and finishes it.
  b.proc.kill('SIGCONT');
  const done = await waitFor(async () => {
    const j = (await cb.get(`/v2/{p}/jobs/${task.id}`)).body;
    return j.status === 'SUCCESS' && j;
  }, 30_000, 'B finishing the flush');
  assert.equal(done.status, 'SUCCESS');
  assert.equal(await flushCalls(), 1, 'B flushed once');
  assert.equal(await data.get('before'), null);

  // Keys written after the task succeeded must survive A waking up.
  await data.set('after', 'kept');
  const logBefore = a.output().length;
  a.proc.kill('SIGCONT');
  await waitFor(async () => /step interrupted/.test(a.output().slice(logBefore)), 15_000, 'A noticing it lost the lease');
  // A is awake and has given the task up; give it a health round-trip so any stray effect would have landed.
  assert.equal((await ca.get('/health')).status, 200);
  assert.equal(await data.get('after'), 'kept');
  assert.equal(await flushCalls(), 1, 'A never sent FLUSHALL');
  const after = (await ca.get(`/v2/{p}/jobs/${task.id}`)).body;
  assert.equal(after.status, 'SUCCESS');
});
