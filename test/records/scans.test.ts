/**
 * Big-key and hot-key analyses and expired-key scans against real redis-servers: the results
 * list the keys this test wrote (sizes, access counts), the expired-key scan really releases
 * keys (an attached Redis with active expiry off, D12), and the refusals carry their codes.
 * Every scan is held `waiting` for a while (DCS_STEP_DELAY_MS) so "in flight" is observable.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { client, waitFor, type Client } from '../helpers/client.js';
import { attachRunningRedis, createRunningInstance } from '../helpers/instance.js';
import { onRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { startService, type Service } from '../helpers/service.js';
import { query } from '../helpers/db.js';

let svc: Service;
let admin: Client;
let reader: Client;
let other: Client;
let id: string;
let port: number;
let attached: TestRedis;
let attachedId: string;
const password = 'Scans#Pass123';
const P = '{p}';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function finished(kind: 'bigkey' | 'hotkey', instance: string, scanId: string) {
  return waitFor(async () => {
    const r = await admin.get(`/v2/${P}/instances/${instance}/${kind}-task/${scanId}`);
    return (r.body.status === 'success' || r.body.status === 'failed') && r.body;
  }, 30_000, `${kind} analysis finished`);
}

async function expireScanFinished(instance: string, scanId: string) {
  return waitFor(async () => {
    const r = (await admin.get(`/v2/${P}/instances/${instance}/auto-expire/histories`, { query: { limit: '100' } })).body.records.find((x: any) => x.id === scanId);
    return r && (r.status === 'success' || r.status === 'failed') && r;
  }, 30_000, 'expired-key scan finished');
}

before(async () => {
  svc = await startService({ env: { DCS_STEP_DELAY_MS: '1000' } });
  admin = client(svc.url, svc.admin);
  reader = client(svc.url, svc.reader);
  other = client(svc.url, svc.other);
  ({ id, port } = await createRunningInstance(admin, 'scan-target', password));
  attached = await startRedis(null, ['--enable-debug-command', 'local']);
  attachedId = await attachRunningRedis(admin, 'expire-target', attached.url);
});

after(async () => {
  await svc?.stop();
  await attached?.stop();
});

test('big-key analysis: the 20 largest keys of each type the test wrote, over two databases; list, show, delete', async () => {
  await onRedis(port, password, async (r) => {
    for (let k = 1; k <= 25; k++) await r.set(`str:${k}`, 'x'.repeat(k * 100));
    await r.rpush('list:big', ...Array.from({ length: 300 }, (_, j) => `e${j}`));
    await r.rpush('list:small', 'a', 'b');
    await r.sadd('set:big', ...Array.from({ length: 150 }, (_, j) => `m${j}`));
    await r.zadd('zset:big', ...Array.from({ length: 40 }, (_, j) => [j, `z${j}`]).flat());
    await r.hset('hash:big', Object.fromEntries(Array.from({ length: 70 }, (_, j) => [`f${j}`, 'v'])));
    await r.xadd('a-stream', '*', 'f', 'v');
    await r.select(3);
    await r.set('db3:huge', 'y'.repeat(50_000));
  });

  const created = await admin.post(`/v2/${P}/instances/${id}/bigkey-task`, undefined);
  assert.equal(created.status, 200, created.text);
  const rec = created.body;
  assert.match(rec.id, UUID);
  assert.deepEqual(
    { instance_id: rec.instance_id, status: rec.status, scan_type: rec.scan_type, started_at: rec.started_at, finished_at: rec.finished_at, num: rec.num, keys: rec.keys, fail_reason: rec.fail_reason },
    { instance_id: id, status: 'waiting', scan_type: 'manual', started_at: null, finished_at: null, num: 0, keys: null, fail_reason: null },
  );
  assert.match(rec.created_at, ISO);

  // A second one while the first is in flight: DCS.4918, and no record.
  const second = await admin.post(`/v2/${P}/instances/${id}/bigkey-task`, undefined);
  assert.equal(second.status, 400);
  assert.equal(second.body.error_code, 'DCS.4918');
  // Still waiting: its delete is refused with DCS.4017.
  const early = await admin.del(`/v2/${P}/instances/${id}/bigkey-task/${rec.id}`);
  assert.equal(early.status, 400);
  assert.equal(early.body.error_code, 'DCS.4017');

  const done = await finished('bigkey', id, rec.id);
  assert.equal(done.status, 'success', JSON.stringify(done));
  assert.match(done.started_at, ISO);
  assert.match(done.finished_at, ISO);
  const strings = done.keys.filter((k: any) => k.type === 'string');
  assert.equal(strings.length, 20, 'at most 20 keys per type');
  assert.deepEqual(strings[0], { name: 'db3:huge', type: 'string', shard: `127.0.0.1:${port}`, db: 3, size: 50_000, unit: 'byte' });
  assert.deepEqual(strings.slice(1).map((k: any) => k.name), Array.from({ length: 19 }, (_, j) => `str:${25 - j}`));
  assert.equal(strings[1].size, 2500);
  const rest = done.keys.filter((k: any) => k.type !== 'string').map((k: any) => [k.name, k.type, k.size, k.unit, k.db]);
  assert.deepEqual(rest, [
    ['list:big', 'list', 300, 'count', 0], ['list:small', 'list', 2, 'count', 0], ['set:big', 'set', 150, 'count', 0],
    ['zset:big', 'zset', 40, 'count', 0], ['hash:big', 'hash', 70, 'count', 0],
  ]);
  assert.equal(done.num, done.keys.length);

  const list = await reader.get(`/v2/${P}/instances/${id}/bigkey-tasks`);
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.instance_id, id);
  assert.equal(list.body.count, 1);
  assert.deepEqual(Object.keys(list.body.records[0]).sort(), ['created_at', 'finished_at', 'id', 'scan_type', 'started_at', 'status']);
  assert.equal((await reader.get(`/v2/${P}/instances/${id}/bigkey-tasks`, { query: { status: 'waiting' } })).body.count, 0);
  assert.equal((await reader.get(`/v2/${P}/instances/${id}/bigkey-tasks`, { query: { status: 'bogus' } })).body.error_code, 'DCS.4800');
  assert.equal((await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks.length, 0, 'an analysis is not a background task');

  assert.equal((await reader.del(`/v2/${P}/instances/${id}/bigkey-task/${rec.id}`)).status, 403);
  assert.equal((await other.get(`/v2/${P}/instances/${id}/bigkey-task/${rec.id}`)).body.error_code, 'DCS.3022');
  const malformed = await admin.get(`/v2/${P}/instances/${id}/bigkey-task/not-a-uuid`);
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.error_code, 'DCS.4942');

  const [a, b] = await Promise.all([
    admin.del(`/v2/${P}/instances/${id}/bigkey-task/${rec.id}`),
    admin.del(`/v2/${P}/instances/${id}/bigkey-task/${rec.id}`),
  ]);
  assert.deepEqual([a.status, b.status].sort(), [200, 400], 'of two concurrent deletes exactly one succeeds');
  const ok = a.status === 200 ? a : b;
  assert.equal(ok.body.id, rec.id);
  assert.equal(ok.body.status, 'success');
  assert.equal((a.status === 400 ? a : b).body.error_code, 'DCS.4942');
  assert.equal((await admin.get(`/v2/${P}/instances/${id}/bigkey-task/${rec.id}`)).body.error_code, 'DCS.4942');
  assert.equal((await admin.get(`/v2/${P}/instances/${id}/bigkey-tasks`)).body.count, 0);
});

test('scans block nothing: a flush starts while an analysis waits; deleting the instance meanwhile is DCS.4026', async () => {
  const scan = await admin.post(`/v2/${P}/instances/${id}/bigkey-task`, undefined);
  assert.equal(scan.status, 200, scan.text);
  const del = await admin.del(`/v2/${P}/instances/${id}`);
  assert.equal(del.status, 400);
  assert.equal(del.body.error_code, 'DCS.4026', del.text);
  const flush = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' });
  assert.equal(flush.status, 200, flush.text);
  assert.deepEqual(flush.body.results.map((x: any) => x.result), ['success']);
  assert.equal((await finished('bigkey', id, scan.body.id)).status, 'success');
  assert.ok((await admin.get(`/v2/${P}/instances/${id}`)).status === 200, 'the instance is still there');
  // The flush ends within this test: run later, its FLUSHALL would empty the next test's keys.
  await waitFor(async () => {
    const tasks = (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks;
    return tasks.length > 0 && tasks.every((t: any) => t.status === 'SUCCESS' || t.status === 'FAILED');
  }, 30_000, 'the flush finished');
});

test('hot-key analysis: DCS.4922 unless the policy is LFU; then the keys the test hammered, hottest first', async () => {
  const refused = await admin.post(`/v2/${P}/instances/${id}/hotkey-task`, undefined);
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error_code, 'DCS.4922');
  assert.equal((await admin.get(`/v2/${P}/instances/${id}/hotkey-tasks`)).body.count, 0, 'no record');

  await onRedis(port, password, async (r) => {
    await r.config('SET', 'maxmemory-policy', 'allkeys-lfu');
    await r.set('hot:1', 'a');
    await r.set('hot:2', 'b');
    await r.rpush('cold:list', 'x');
    for (let j = 0; j < 3000; j++) await r.get('hot:1');
    for (let j = 0; j < 300; j++) await r.get('hot:2');
  });
  const created = await admin.post(`/v2/${P}/instances/${id}/hotkey-task`, undefined);
  assert.equal(created.status, 200, created.text);
  const dup = await admin.post(`/v2/${P}/instances/${id}/hotkey-task`, undefined);
  assert.equal(dup.body.error_code, 'DCS.4017');
  const done = await finished('hotkey', id, created.body.id);
  assert.equal(done.status, 'success', JSON.stringify(done));
  assert.deepEqual(done.keys.slice(0, 2).map((k: any) => k.name), ['hot:1', 'hot:2']);
  assert.ok(done.keys[0].freq > done.keys[1].freq && done.keys[1].freq > done.keys.at(-1).freq, JSON.stringify(done.keys));
  assert.deepEqual(Object.keys(done.keys[0]).sort(), ['db', 'freq', 'name', 'shard', 'size', 'type', 'unit']);
  assert.equal((await admin.get(`/v2/${P}/instances/${id}/hotkey-task/${created.body.id.replace(/.$/, '0')}x`)).body.error_code, 'DCS.4941');
});

test('expired-key scan: SCAN releases the keys whose TTL passed (active expiry off, D12); both routes, history totals', async () => {
  const r = attached.client(null);
  await r.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
  for (let k = 0; k < 30; k++) await r.set(`gone:${k}`, 'v', 'PX', 1);
  for (let k = 0; k < 5; k++) await r.set(`kept:${k}`, 'v');
  await new Promise((res) => setTimeout(res, 20)); // the TTLs are 1 ms: a real wait for real expiry
  assert.equal(await r.dbsize(), 35, 'expired keys stay counted until something visits them');

  const created = await admin.post(`/v2/${P}/instances/${attachedId}/scan-expire-keys-task`, undefined);
  assert.equal(created.status, 200, created.text);
  assert.deepEqual(Object.keys(created.body).sort(), ['created_at', 'fail_reason', 'finished_at', 'id', 'instance_id', 'scan_type', 'started_at', 'status']);
  assert.equal(created.body.status, 'waiting');
  const dup = await admin.post(`/v2/${P}/instances/${attachedId}/auto-expire/scan`, undefined);
  assert.equal(dup.status, 400);
  assert.equal(dup.body.error_code, 'DCS.4017');
  const done = await expireScanFinished(attachedId, created.body.id);
  assert.equal(done.status, 'success', JSON.stringify(done));
  assert.equal(done.num, 30);
  assert.equal(await r.dbsize(), 5);

  for (let k = 0; k < 4; k++) await r.set(`gone2:${k}`, 'v', 'PX', 1);
  await new Promise((res) => setTimeout(res, 20));
  const again = await admin.post(`/v2/${P}/instances/${attachedId}/auto-expire/scan`, undefined);
  assert.equal(again.status, 200, again.text);
  assert.equal((await expireScanFinished(attachedId, again.body.id)).num, 4);
  r.disconnect();

  const h = await reader.get(`/v2/${P}/instances/${attachedId}/auto-expire/histories`);
  assert.equal(h.status, 200, h.text);
  assert.equal(h.body.instance_id, attachedId);
  assert.equal(h.body.count, 2);
  assert.equal(h.body.total, 34);
  assert.deepEqual(h.body.records.map((x: any) => x.id), [again.body.id, created.body.id], 'newest first');
  const page = await reader.get(`/v2/${P}/instances/${attachedId}/auto-expire/histories`, { query: { limit: '1', offset: '1' } });
  assert.deepEqual([page.body.count, page.body.records.length, page.body.records[0].id], [2, 1, created.body.id]);
  assert.equal((await reader.post(`/v2/${P}/instances/${attachedId}/auto-expire/scan`, undefined)).status, 403);
});

test('a restore in flight refuses the three scans with DCS.4097', async () => {
  const b = await admin.post(`/v2/${P}/instances/${id}/backups`, undefined);
  assert.equal(b.status, 200, b.text);
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${id}/backups`)).body.backup_record_response[0]?.status === 'succeed', 30_000, 'backup');
  const r = await admin.post(`/v2/${P}/instances/${id}/restores`, { backup_id: b.body.backup_id });
  assert.equal(r.status, 200, r.text);
  for (const url of ['bigkey-task', 'hotkey-task', 'scan-expire-keys-task']) {
    const refused = await admin.post(`/v2/${P}/instances/${id}/${url}`, undefined);
    assert.equal(refused.status, 400, url);
    assert.equal(refused.body.error_code, 'DCS.4097', `${url}: ${refused.text}`);
  }
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${id}/restores`)).body.restore_record_response[0]?.status === 'succeed', 30_000, 'restore');
});

test('deleting the instance removes its records, backup files, their tasks and its autoscan configurations', async () => {
  assert.equal((await admin.put(`/v2/${P}/instances/${id}/bigkey/autoscan`, { enable_auto_scan: false, schedule_at: ['03:00'] })).status, 200);
  const backups = path.join(svc.dataDir, 'backups', id);
  assert.ok(fs.existsSync(backups));
  const rows = async () => Promise.all(['backups', 'restores', 'key_scans', 'autoscan_configs', 'tasks'].map(async (t) =>
    Number((await query(svc.database, `SELECT COUNT(*) AS n FROM ${t} WHERE instance_id = $1${t === 'tasks' ? ' AND record_kind IS NOT NULL' : ''}`, [id]))[0]!.n)));
  assert.ok((await rows()).every((n, j) => j === 1 || n > 0), 'records exist before');

  const del = await admin.del(`/v2/${P}/instances/${id}`);
  assert.equal(del.status, 204, del.text);
  assert.deepEqual(await rows(), [0, 0, 0, 0, 0]);
  assert.equal(fs.existsSync(backups), false, 'the backup files are gone');
  for (const url of ['bigkey-tasks', 'hotkey-tasks', 'auto-expire/histories', 'bigkey/autoscan', 'backups']) {
    assert.equal((await admin.get(`/v2/${P}/instances/${id}/${url}`)).body.error_code, 'DCS.3022', url);
  }
});
