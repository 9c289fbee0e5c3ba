/**
 * Three `dcs-tasks serve` processes on one PostgreSQL schema, each ticking its scheduler every
 * 100 ms: every scheduled slot runs once, not once per node — counted both in the records and in
 * the SCAN calls Redis itself saw.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { client, waitFor, type Client } from '../helpers/client.js';
import { makeCredential, startService, tempDir, type Service } from '../helpers/service.js';
import { onRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { dropDatabase, testDatabaseUrl } from '../helpers/db.js';
import { attachRunningRedis } from '../helpers/instance.js';

const env = { DCS_LEASE_MS: '3000', DCS_SCHEDULER_TICK_MS: '100' };
const database = testDatabaseUrl(tempDir(), 'postgres');
const alice = makeCredential(randomBytes(16).toString('hex'), 'admin', 'alice');
const P = '{p}';

let nodes: Service[] = [];
let clients: Client[] = [];
let redis: TestRedis;
let id: string;

const scanCalls = () => onRedis(redis.port, null, async (r) => Number(/cmdstat_scan:calls=(\d+)/.exec(await r.info('commandstats'))?.[1] ?? 0));

before(async () => {
  nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startService({ database, env, credentials: [alice] }));
  clients = nodes.map((n) => client(n.url, alice));
  redis = await startRedis();
  await onRedis(redis.port, null, (r) => r.mset('k1', 'v', 'k2', 'v', 'k3', 'v'));
  id = await attachRunningRedis(clients[0]!, 'scheduled', redis.url);
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await redis?.stop();
  await dropDatabase(database);
});

test('expired-key scans every 2 s on three nodes: one record and one walk per slot', async () => {
  const before = await scanCalls();
  const first = Date.now() + 1000;
  const put = await clients[2]!.put(`/v2/${P}/instances/${id}/scan-expire-keys/autoscan-config`, {
    enable_auto_scan: true, first_scan_at: new Date(first).toISOString(), interval: 2, timeout: 4, scan_keys_count: 10,
  });
  assert.equal(put.status, 200, put.text);
  const records = await waitFor(async () => {
    const r = (await clients[0]!.get(`/v2/${P}/instances/${id}/auto-expire/histories`, { query: { limit: '100' } })).body.records;
    return r.length >= 3 && r.every((x: any) => x.status === 'success') && r;
  }, 30_000, 'three automatic scans');
  assert.equal((await clients[1]!.put(`/v2/${P}/instances/${id}/scan-expire-keys/autoscan-config`, { enable_auto_scan: false })).status, 200);
  // Let anything still in flight finish, then count.
  const settled = await waitFor(async () => {
    const r = (await clients[0]!.get(`/v2/${P}/instances/${id}/auto-expire/histories`, { query: { limit: '100' } })).body.records;
    return r.every((x: any) => x.status === 'success') && r;
  }, 10_000, 'all scans finished');
  assert.ok(settled.length >= records.length);
  const slots = settled.map((x: any) => Math.round((Date.parse(x.created_at) - first) / 2000));
  assert.equal(new Set(slots).size, settled.length, `one record per slot: ${JSON.stringify(settled.map((x: any) => x.created_at))}`);
  assert.equal((await scanCalls()) - before, settled.length, 'one SCAN walk per record: no node ran a slot twice');
});

test('a daily big-key slot on three nodes: exactly one record', async () => {
  // The next minute that starts at least 5 s from now: a slot counts only once the schedule is set.
  const next = new Date(Date.now() + 65_000).toISOString().slice(11, 16);
  const put = await clients[0]!.put(`/v2/${P}/instances/${id}/bigkey/autoscan`, { enable_auto_scan: true, schedule_at: [next] });
  assert.equal(put.status, 200, put.text);
  const [run] = await waitFor(async () => {
    const r = (await clients[1]!.get(`/v2/${P}/instances/${id}/bigkey-tasks`)).body.records;
    return r.length > 0 && r[0].status === 'success' && r;
  }, 90_000, 'the automatic analysis');
  const until = Date.now() + 2000; // twenty ticks on each node
  await waitFor(async () => Date.now() > until, 5000, 'more ticks');
  const all = (await clients[2]!.get(`/v2/${P}/instances/${id}/bigkey-tasks`)).body;
  assert.equal(all.count, 1);
  assert.equal(all.records[0].id, run.id);
  assert.equal(all.records[0].scan_type, 'auto');
});
