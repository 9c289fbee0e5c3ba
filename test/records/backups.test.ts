/**
 * Backups and restores against a real managed redis-server: the backup file holds the keys (a
 * downloaded rdb loads into a fresh redis-server), a restore makes the instance's data the
 * backup's, deleting removes the file and keeps the record, links are signed and expire, and
 * every refusal carries its code. Records never show as background tasks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { createRunningInstance } from '../helpers/instance.js';
import { startService, tempDir, type Service } from '../helpers/service.js';
import { freePort } from '../helpers/redis.js';

let svc: Service;
let admin: Client;
let reader: Client;
let other: Client;
let id: string;
let port: number;
const password = 'Backup#Pass123';
const P = '{p}';

async function redis(p = port, pw: string | null = password): Promise<Redis> {
  const r = new Redis({ host: '127.0.0.1', port: p, password: pw ?? undefined, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  r.on('error', () => {});
  await r.connect();
  return r;
}

async function backupDone(backupId: string) {
  return waitFor(async () => {
    const b = (await admin.get(`/v2/${P}/instances/${id}/backups`)).body.backup_record_response.find((x: any) => x.backup_id === backupId);
    return b && (b.status === 'succeed' || b.status === 'failed') && b;
  }, 30_000, 'backup finished');
}

async function restoreDone(restoreId: string) {
  return waitFor(async () => {
    const r = (await admin.get(`/v2/${P}/instances/${id}/restores`)).body.restore_record_response.find((x: any) => x.restore_id === restoreId);
    return r && (r.status === 'succeed' || r.status === 'failed') && r;
  }, 30_000, 'restore finished');
}

/** Loads a file into a fresh redis-server (as its RDB) and returns every key with its value. */
async function keysOfRdb(bytes: Buffer): Promise<Record<string, string>> {
  const dir = tempDir('dcs-rdb-');
  fs.writeFileSync(path.join(dir, 'dump.rdb'), bytes);
  const p = await freePort();
  const proc = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb', '--appendonly', 'no', '--save', ''], { stdio: 'ignore' });
  try {
    const r = await waitFor(async () => {
      const c = await redis(p, null);
      return (await c.ping()) === 'PONG' && c;
    }, 10_000, 'fresh redis-server');
    const out: Record<string, string> = {};
    for (const k of await r.keys('*')) out[k] = (await r.type(k)) === 'string' ? (await r.get(k))! : (await r.type(k));
    r.disconnect();
    return out;
  } finally {
    proc.kill('SIGKILL');
  }
}

async function download(link: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(link);
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

before(async () => {
  svc = await startService();
  admin = client(svc.url, svc.admin);
  reader = client(svc.url, svc.reader);
  other = client(svc.url, svc.other);
  ({ id, port } = await createRunningInstance(admin, 'backup-target', password));
});

after(async () => {
  await svc?.stop();
});

let rdbBackup: string;

test('rdb backup: a real BGSAVE file, listed with every field, hidden from background tasks; its link downloads a loadable rdb', async () => {
  const c = await redis();
  for (let k = 0; k < 50; k++) await c.set(`key:${k}`, `value-${k}`);
  await c.hset('a-hash', 'f', 'v');
  c.disconnect();

  const r = await admin.post(`/v2/${P}/instances/${id}/backups`, { remark: 'first', backup_format: 'rdb' });
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.backup_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  rdbBackup = r.body.backup_id;
  const b = await backupDone(rdbBackup);
  assert.equal(b.status, 'succeed', JSON.stringify(b));
  assert.equal(b.progress, '100.00');
  assert.equal(b.is_support_restore, 'TRUE');
  assert.equal(b.backup_type, 'manual');
  assert.equal(b.backup_format, 'rdb');
  assert.equal(b.remark, 'first');
  assert.equal(b.error_code, null);
  assert.equal(b.period, null);
  assert.match(b.backup_name, /^backup_\d{14}$/);
  assert.match(b.execution_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const file = path.join(svc.dataDir, 'backups', id, rdbBackup, fs.readdirSync(path.join(svc.dataDir, 'backups', id, rdbBackup))[0]!);
  assert.equal(fs.statSync(file).size, b.size);
  assert.match(path.basename(file), new RegExp(`^redis_127\\.0\\.0\\.1_${port}_\\d{14}\\.rdb$`));

  const tasks = await admin.get(`/v2/${P}/instances/${id}/tasks`);
  assert.equal(tasks.status, 200);
  assert.equal(tasks.body.tasks.length, 0, 'a backup is not a background task');
  assert.equal((await admin.get(`/v2/${P}/tasks`)).body.tasks.length, 0);

  const links = await reader.post(`/v2/${P}/instances/${id}/backups/${rdbBackup}/links`, { expiration: 300 });
  assert.equal(links.status, 200, links.text);
  assert.equal(links.body.file_path, `${id}/${rdbBackup}/`);
  assert.equal(links.body.bucket_name, null);
  const [{ file_name, link }] = links.body.links;
  assert.equal(file_name, path.basename(file));
  const got = await download(link);
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('content-disposition'), `attachment; filename="${file_name}"`);
  assert.ok(got.bytes.equals(fs.readFileSync(file)));
  const keys = await keysOfRdb(got.bytes);
  assert.equal(Object.keys(keys).length, 51);
  assert.equal(keys['key:7'], 'value-7');
  assert.equal(keys['a-hash'], 'hash');
});

test('download links: a tampered signature is 401 DCS.1001, an expired one 401 DCS.1002', async () => {
  const links = await admin.post(`/v2/${P}/instances/${id}/backups/${rdbBackup}/links`, { expiration: 300 });
  const link = new URL(links.body.links[0].link);
  const tampered = new URL(link);
  tampered.searchParams.set('Signature', link.searchParams.get('Signature')!.replace(/^./, (ch) => (ch === 'a' ? 'b' : 'a')));
  const bad = await fetch(tampered);
  assert.equal(bad.status, 401);
  assert.equal((await bad.json()).error_code, 'DCS.1001');
  const key = Buffer.from(fs.readFileSync(path.join(svc.dataDir, 'download-key'), 'utf8').trim(), 'hex');
  const fileName = decodeURIComponent(link.pathname.split('/').pop()!);
  const past = Math.floor(Date.now() / 1000) - 5;
  const expired = new URL(link);
  expired.searchParams.set('Expires', String(past));
  expired.searchParams.set('Signature', createHmac('sha256', key).update(`${rdbBackup}\n${fileName}\n${past}`).digest('hex'));
  const old = await fetch(expired);
  assert.equal(old.status, 401);
  assert.equal((await old.json()).error_code, 'DCS.1002');
  assert.equal((fs.statSync(path.join(svc.dataDir, 'download-key')).mode & 0o777), 0o600);
});

test('aof backup: BGREWRITEAOF output copied as one file with an RDB preamble', async () => {
  const r = await admin.post(`/v2/${P}/instances/${id}/backups`, { backup_format: 'aof' });
  assert.equal(r.status, 200, r.text);
  const b = await backupDone(r.body.backup_id);
  assert.equal(b.status, 'succeed', JSON.stringify(b));
  assert.equal(b.backup_format, 'aof');
  assert.equal(b.remark, null);
  const dir = path.join(svc.dataDir, 'backups', id, b.backup_id);
  const [name] = fs.readdirSync(dir);
  assert.match(name!, /\.aof$/);
  assert.equal(fs.readFileSync(path.join(dir, name!)).subarray(0, 5).toString(), 'REDIS');
});

test('restore: keys written after the backup are gone, deleted ones are back, and it survives a restart', async () => {
  const c = await redis();
  await c.set('written-after', 'x');
  await c.del('key:1');
  await c.set('key:2', 'changed');
  c.disconnect();
  const r = await admin.post(`/v2/${P}/instances/${id}/restores`, { backup_id: rdbBackup, remark: 'back to first' });
  assert.equal(r.status, 200, r.text);
  const done = await restoreDone(r.body.restore_id);
  assert.equal(done.status, 'succeed', JSON.stringify(done));
  assert.equal(done.backup_id, rdbBackup);
  assert.equal(done.restore_remark, 'back to first');
  assert.equal(done.backup_remark, 'first');
  assert.match(done.restore_name, /^restore_\d{14}$/);
  assert.equal((await admin.get(`/v2/${P}/instances/${id}`)).body.status, 'RUNNING');
  const check = async () => {
    const c2 = await redis();
    assert.equal(await c2.get('written-after'), null);
    assert.equal(await c2.get('key:1'), 'value-1');
    assert.equal(await c2.get('key:2'), 'value-2');
    assert.equal(await c2.dbsize(), 51);
    c2.disconnect();
  };
  await check();
  // The restored data is the server's own now: a restart (AOF) keeps it.
  const restart = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'restart' });
  assert.equal(restart.status, 200, restart.text);
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks.find((t: any) => t.status === 'SUCCESS'), 30_000, 'restart');
  await check();
});

test('delete: 204, the file goes, the record stays deleted; a second delete, links and restores are refused', async () => {
  const links = await admin.post(`/v2/${P}/instances/${id}/backups/${rdbBackup}/links`, { expiration: 600 });
  assert.equal(reader.project, admin.project);
  assert.equal((await reader.del(`/v2/${P}/instances/${id}/backups/${rdbBackup}`)).status, 403);
  const d = await admin.del(`/v2/${P}/instances/${id}/backups/${rdbBackup}`);
  assert.equal(d.status, 204, d.text);
  assert.equal(d.text, '');
  assert.equal(fs.existsSync(path.join(svc.dataDir, 'backups', id, rdbBackup)), false);
  const b = (await admin.get(`/v2/${P}/instances/${id}/backups`)).body.backup_record_response.find((x: any) => x.backup_id === rdbBackup);
  assert.equal(b.status, 'deleted');
  assert.equal(b.is_support_restore, 'FALSE');
  assert.ok(b.size > 0, 'size is kept');
  const again = await admin.del(`/v2/${P}/instances/${id}/backups/${rdbBackup}`);
  assert.equal(again.status, 400);
  assert.equal(again.body.error_code, 'DCS.4031');
  assert.equal((await admin.post(`/v2/${P}/instances/${id}/backups/${rdbBackup}/links`, { expiration: 300 })).body.error_code, 'DCS.4957');
  const restore = await admin.post(`/v2/${P}/instances/${id}/restores`, { backup_id: rdbBackup });
  assert.equal(restore.status, 400);
  assert.equal(restore.body.error_code, 'DCS.4087');
  const gone = await fetch(links.body.links[0].link);
  assert.equal(gone.status, 404);
  assert.equal((await gone.json()).error_code, 'DCS.4001');
});

test('refusals: bad bodies and ids, roles, other projects, attached instances; nothing is created', async () => {
  const base = `/v2/${P}/instances/${id}`;
  const before = (await admin.get(`${base}/backups`)).body.total_num;
  const expect = async (r: Promise<any>, status: number, code: string) => {
    const x = await r;
    assert.equal(x.status, status, x.text);
    assert.equal(x.body.error_code, code, x.text);
    assert.equal(x.body.error_ext_msg, null);
    assert.ok(x.headers.get('x-request-id'));
  };
  await expect(admin.post(`${base}/backups`, { remark: 'x'.repeat(129) }), 400, 'DCS.4098');
  await expect(admin.post(`${base}/backups`, { backup_format: 'zip' }), 400, 'DCS.4800');
  await expect(admin.post(`${base}/backups`, { remark: 5 }), 400, 'DCS.4800');
  await expect(admin.call('POST', `${base}/backups`, { headers: { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' }, rawBody: '{nope' }), 400, 'DCS.4005');
  await expect(reader.post(`${base}/backups`, {}), 403, 'DCS.3002');
  await expect(reader.post(`${base}/restores`, { backup_id: rdbBackup }), 403, 'DCS.3002');
  await expect(other.post(`/v2/${other.project}/instances/${id}/backups`, {}), 404, 'DCS.3022');
  await expect(other.get(`/v2/${other.project}/instances/${id}/backups`), 404, 'DCS.3022');
  await expect(admin.del(`${base}/backups/not-a-uuid`), 400, 'DCS.4800');
  await expect(admin.del(`${base}/backups/00000000-0000-4000-8000-000000000000`), 400, 'DCS.4031');
  await expect(admin.post(`${base}/backups/00000000-0000-4000-8000-000000000000/links`, { expiration: 300 }), 400, 'DCS.4031');
  await expect(admin.post(`${base}/backups/${rdbBackup}/links`, { expiration: 10 }), 400, 'DCS.4800');
  await expect(admin.post(`${base}/restores`, {}), 400, 'DCS.4800');
  await expect(admin.post(`${base}/restores`, { backup_id: 'nope' }), 400, 'DCS.4800');
  await expect(admin.post(`${base}/restores`, { backup_id: '00000000-0000-4000-8000-000000000000' }), 400, 'DCS.4800');
  // Parameters before existence (api.md): an unknown instance with a bad body is the body's 400.
  const unknown = `/v2/${P}/instances/00000000-0000-4000-8000-00000000dead`;
  await expect(admin.post(`${unknown}/restores`, { backup_id: 'nope' }), 400, 'DCS.4800');
  await expect(admin.post(`${unknown}/restores`, { backup_id: rdbBackup, remark: 'x'.repeat(129) }), 400, 'DCS.4098');
  await expect(admin.post(`${unknown}/backups`, { remark: 'x'.repeat(129) }), 400, 'DCS.4098');
  await expect(admin.post(`${unknown}/backups`, {}), 404, 'DCS.3022');
  await expect(admin.get(`${base}/backups`, { query: { limit: '0' } }), 400, 'DCS.4800');
  await expect(admin.get(`${base}/backups`, { query: { begin_time: '20250102000000', end_time: '20250101000000' } }), 400, 'DCS.4025');
  assert.equal((await admin.get(`${base}/backups`)).body.total_num, before);

  // An attached Redis has no files here: DCS.4095.
  const attachedPort = await freePort();
  const proc = spawn('redis-server', ['--port', String(attachedPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tempDir()], { stdio: 'ignore' });
  try {
    await waitFor(async () => { const c = await redis(attachedPort, null); const ok = await c.ping(); c.disconnect(); return ok === 'PONG'; });
    const a = await admin.post(`/v2/${P}/instances`, { name: 'attached', engine: 'Redis', engine_version: '7.0', capacity: 0.125, redis_url: `redis://127.0.0.1:${attachedPort}` });
    assert.equal(a.status, 200, a.text);
    const aid = a.body.instances[0].instance_id;
    await waitFor(async () => (await admin.get(`/v2/${P}/instances/${aid}`)).body.status === 'RUNNING');
    await expect(admin.post(`/v2/${P}/instances/${aid}/backups`, {}), 400, 'DCS.4095');
  } finally {
    proc.kill('SIGKILL');
  }
});

test('list: time window and paging, newest first, totals of the matching records', async () => {
  const all = (await admin.get(`/v2/${P}/instances/${id}/backups`)).body;
  assert.equal(all.total_num, 2);
  const [newest, oldest] = all.backup_record_response;
  assert.ok(newest.created_at >= oldest.created_at);
  const page = (await admin.get(`/v2/${P}/instances/${id}/backups`, { query: { offset: '1', limit: '1' } })).body;
  assert.equal(page.total_num, 2);
  assert.deepEqual(page.backup_record_response.map((b: any) => b.backup_id), [oldest.backup_id]);
  const compact = (iso: string) => iso.replace(/[-:T]/g, '').slice(0, 14);
  const only = (await admin.get(`/v2/${P}/instances/${id}/backups`, { query: { begin_time: compact(oldest.created_at), end_time: compact(oldest.created_at) } })).body;
  assert.ok(only.backup_record_response.some((b: any) => b.backup_id === oldest.backup_id));
  const none = (await admin.get(`/v2/${P}/instances/${id}/backups`, { query: { begin_time: '20000101000000', end_time: '20000102000000' } })).body;
  assert.deepEqual(none, { total_num: 0, backup_record_response: [] });
});

test('progress of a slow save: between 0.00 and 50.00 while backuping, following the keys Redis has saved; 100.00 once succeed', async () => {
  const c = await redis();
  const keys = Array.from({ length: 1500 }, (_, k) => `slow:${k}`);
  for (const k of keys) await c.set(k, 'v');
  // 2 ms per key: a save of ~3 s, during which the server reports current_save_keys_processed.
  await c.config('SET', 'rdb-key-save-delay', '2000');
  try {
    const r = await admin.post(`/v2/${P}/instances/${id}/backups`, { remark: 'slow' });
    assert.equal(r.status, 200, r.text);
    const seen = await waitFor(async () => {
      const b = (await admin.get(`/v2/${P}/instances/${id}/backups`)).body.backup_record_response.find((x: any) => x.backup_id === r.body.backup_id);
      return b.status === 'backuping' && Number(b.progress) > 0 && b;
    }, 20_000, 'progress above 0.00 while backuping');
    assert.match(seen.progress, /^\d{1,2}\.\d\d$/);
    assert.ok(Number(seen.progress) < 50, seen.progress);
    const b = await backupDone(r.body.backup_id);
    assert.equal(b.status, 'succeed', JSON.stringify(b));
    assert.equal(b.progress, '100.00');
  } finally {
    await c.config('SET', 'rdb-key-save-delay', '0');
    await c.del(...keys);
    c.disconnect();
  }
});

test('restore: keys whose expiry passed between the backup and the restore are gone from the first answer, not counted by DBSIZE', async () => {
  const c = await redis();
  await c.flushall();
  for (let k = 0; k < 100; k++) await c.set(`stays:${k}`, 'v');
  // Many keys, so that Redis's own active expiry cannot have released them all by the check.
  const expiresBy = Date.now() + 6000;
  for (let chunk = 0; chunk < 10; chunk++) {
    const pipe = c.pipeline();
    for (let k = chunk * 50_000; k < (chunk + 1) * 50_000; k++) pipe.set(`short:${k}`, 'v', 'PXAT', expiresBy);
    await pipe.exec();
  }
  const r = await admin.post(`/v2/${P}/instances/${id}/backups`, { remark: 'short ttl' });
  assert.equal(r.status, 200, r.text);
  assert.equal((await backupDone(r.body.backup_id)).status, 'succeed');
  await waitFor(async () => Date.now() > expiresBy + 100, 10_000, 'the short keys past their expiry');
  const restore = await admin.post(`/v2/${P}/instances/${id}/restores`, { backup_id: r.body.backup_id });
  assert.equal(restore.status, 200, restore.text);
  assert.equal((await restoreDone(restore.body.restore_id)).status, 'succeed');
  const after = await redis();
  assert.equal(await after.dbsize(), 100, 'expired keys of the backup are counted after the restore');
  assert.match(await after.info('keyspace'), /db0:keys=100,expires=0/);
  after.disconnect();
  c.disconnect();
});
