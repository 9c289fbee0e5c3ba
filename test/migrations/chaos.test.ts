/**
 * kill -9 of the service during the full copy of 100,000 keys (values of every type, a third
 * with a TTL), then a restart: with resume_mode auto the migration resumes from its saved SCAN
 * cursor and ends SUCCESS; with manual it ends FAILED with a reason, what it had copied is exact,
 * and a restart of the migration completes it. Checked key by key (type, value, TTL ±2 s).
 * The copy is slowed by its own bandwidth limit (1 MB/s) so the kill lands mid-copy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { RedisClients, assertSameKeys, seed } from '../helpers/keyspace.js';

const P = '{p}';
const KEYS = 100_000;
const SRC_PASSWORD = 'Src#Pass1234';
let svc: Service;
let admin: Client;
let source: TestRedis;
let src: Redis;
const clients = new RedisClients();
const redis = (port: number, password: string) => clients.open(port, password);

async function newTarget(name: string): Promise<{ id: string; redis: Redis }> {
  const r = await admin.post(`/v2/${P}/instances`, { name, engine: 'Redis', engine_version: '7.0', capacity: 1, password: 'Tgt#Pass1234' });
  assert.equal(r.status, 200, r.text);
  const id = r.body.instances[0].instance_id;
  const port = await waitFor(async () => {
    const x = await admin.get(`/v2/${P}/instances/${id}`);
    return x.body.status === 'RUNNING' && x.body.port;
  });
  return { id, redis: redis(port, 'Tgt#Pass1234') };
}

const show = async (id: string) => (await admin.get(`/v2/${P}/migration-task/${id}`)).body;
const logsOf = async (id: string) => (await admin.get(`/v2/${P}/migration-task/${id}/logs`, { query: { limit: '100' } })).body.migration_logs as any[];
const ended = (id: string, ms = 120_000) =>
  waitFor(async () => { const m = await show(id); return ['SUCCESS', 'FAILED', 'TERMINATED'].includes(m.status) && m; }, ms, `migration ${id} to end`);

/** Starts a throttled full copy into `targetId` and kills the service with SIGKILL once 10–70 % is copied. */
async function startAndKill(targetId: string, resumeMode: 'auto' | 'manual'): Promise<string> {
  const created = await admin.post(`/v2/${P}/migration/instance`, { name: `chaos-${resumeMode}`, vpc_id: 'v', subnet_id: 's', security_group_id: 'g' });
  const id = created.body.instance_id;
  const r = await admin.post(`/v2/${P}/migration/${id}/task`, {
    migration_method: 'full_amount_migration', resume_mode: resumeMode, bandwidth_limit_mb: '1',
    source_instance: { addrs: `127.0.0.1:${source.port}`, password: SRC_PASSWORD }, target_instance: { id: targetId },
  });
  assert.equal(r.status, 200, r.text);
  const at = await waitFor(async () => {
    const s = (await admin.get(`/v2/${P}/migration-task/${id}/stats`)).body;
    const p = Number(s.full_migration_progress);
    return p >= 10 && p <= 70 && p;
  }, 60_000, 'the copy to be under way');
  await svc.kill9();
  assert.ok(at < 100);
  await svc.restart();
  admin = client(svc.url, svc.admin);
  return id;
}

before(async () => {
  svc = await startService();
  admin = client(svc.url, svc.admin);
  source = await startRedis(SRC_PASSWORD);
  src = redis(source.port, SRC_PASSWORD);
  await seed(src, KEYS * 0.9, 0);
  await seed(src, KEYS * 0.1, 2);
});

after(async () => {
  clients.closeAll();
  await svc?.stop();
  await source?.stop();
});

test('resume_mode auto: kill -9 mid-copy, restart, the copy resumes from its cursor and every key arrives', async () => {
  const target = await newTarget('chaos-auto');
  const id = await startAndKill(target.id, 'auto');
  const m = await ended(id);
  assert.equal(m.status, 'SUCCESS', JSON.stringify(await logsOf(id)));
  const logs = await logsOf(id);
  assert.ok(logs.some((l) => l.log_code === 'resumed' && /SCAN cursor/.test(l.message)), 'resumed from its cursor, not from the start');
  assert.equal((await assertSameKeys(src, target.redis, 0)) + (await assertSameKeys(src, target.redis, 2)), KEYS);
});

test('resume_mode manual: kill -9 mid-copy, restart, FAILED with a reason; what was copied is exact; a restart completes it', async () => {
  const target = await newTarget('chaos-manual');
  const id = await startAndKill(target.id, 'manual');
  const m = await ended(id);
  assert.equal(m.status, 'FAILED');
  const error = (await logsOf(id)).find((l) => l.log_level === 'ERROR');
  assert.match(error.message, /interrupted by a restart.*restart it/);
  const copied = (await assertSameKeys(target.redis, src, 0)) + (await assertSameKeys(target.redis, src, 2));
  assert.ok(copied > 0 && copied < KEYS, `${copied} keys copied before the kill`);

  const restart = await admin.post(`/v2/${P}/migration-tasks/batch-restart`, { migration_tasks: [id] });
  assert.equal(restart.body.migration_tasks[0].result, 'success', restart.text);
  assert.equal((await ended(id)).status, 'SUCCESS');
  assert.equal((await assertSameKeys(src, target.redis, 0)) + (await assertSameKeys(src, target.redis, 2)), KEYS);
});

test('INCRMIGEATING survives kill -9: the run re-attaches, writes keep arriving, and a stop after the restart detaches the target', async () => {
  const target = await newTarget('chaos-incremental');
  const created = await admin.post(`/v2/${P}/migration/instance`, { name: 'chaos-incr', vpc_id: 'v', subnet_id: 's', security_group_id: 'g' });
  const id = created.body.instance_id;
  await admin.post(`/v2/${P}/migration/${id}/task`, {
    migration_method: 'incremental_migration', source_instance: { addrs: `127.0.0.1:${source.port}`, password: SRC_PASSWORD }, target_instance: { id: target.id },
  });
  await waitFor(async () => (await show(id)).status === 'INCRMIGEATING', 120_000, 'INCRMIGEATING');
  await svc.kill9();
  await svc.restart();
  admin = client(svc.url, svc.admin);
  await waitFor(async () => (await logsOf(id)).some((l) => l.log_code === 'reattached'), 20_000, 'the run to re-attach');
  assert.equal((await show(id)).status, 'INCRMIGEATING');
  await src.set('after-crash', '1');
  // A target restarted meanwhile needs a full resync first (the source's diskless-sync delay alone is 5 s).
  await waitFor(async () => (await target.redis.get('after-crash')) === '1', 30_000, 'a write after the restart on the target');
  await src.set('after-crash-2', '2');
  await waitFor(async () => (await target.redis.get('after-crash-2')) === '2', 5000, 'a later write within 5 s');
  const stop = await admin.post(`/v2/${P}/migration-task/${id}/stop`, undefined);
  assert.equal(stop.status, 200);
  await waitFor(async () => (await show(id)).status === 'TERMINATED', 5000, 'TERMINATED within 5 s');
  assert.match(await target.redis.info('replication'), /role:master/);
});
