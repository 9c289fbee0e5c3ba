/**
 * Backups and restores under fire: the section-6 refusals while one runs (each with its code),
 * and kill -9 of the service in each step of a backup and of a restore (DCS_STEP_DELAY_MS holds
 * each step so the kill lands there; the record's progress tells which step runs), then a
 * restart: the record ends succeed or failed, never in flight, and the real data is whole —
 * a backup file holds exactly the keys, a restore leaves either the old data or the backup's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { createRunningInstance } from '../helpers/instance.js';
import { startService, type Service } from '../helpers/service.js';

let svc: Service;
let admin: Client;
let id: string;
let port: number;
const password = 'Chaos#Backup1';
const P = '{p}';

async function redis(): Promise<Redis> {
  const r = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  r.on('error', () => {});
  await r.connect();
  return r;
}

/** The instance's keys, once it answers. */
async function keys(): Promise<string[]> {
  return waitFor(async () => {
    const r = await redis();
    try {
      return (await r.keys('*')).sort();
    } finally {
      r.disconnect();
    }
  }, 30_000, 'redis answers');
}

async function writeSet(prefix: string, n: number): Promise<string[]> {
  const r = await redis();
  await r.flushall();
  for (let k = 0; k < n; k++) await r.set(`${prefix}:${k}`, String(k));
  r.disconnect();
  return Array.from({ length: n }, (_, k) => `${prefix}:${k}`).sort();
}

const backups = async () => (await admin.get(`/v2/${P}/instances/${id}/backups`, { query: { limit: '1000' } })).body.backup_record_response;
const restores = async () => (await admin.get(`/v2/${P}/instances/${id}/restores`, { query: { limit: '1000' } })).body.restore_record_response;
const finished = (s: string) => s === 'succeed' || s === 'failed';

async function record(kind: 'backup' | 'restore', recordId: string, until: (r: any) => boolean, what: string) {
  return waitFor(async () => {
    const list = kind === 'backup' ? await backups() : await restores();
    const r = list.find((x: any) => (kind === 'backup' ? x.backup_id : x.restore_id) === recordId);
    return r && until(r) && r;
  }, 60_000, what);
}

before(async () => {
  svc = await startService({ env: { DCS_STEP_DELAY_MS: '1200' } });
  admin = client(svc.url, svc.admin);
  ({ id, port } = await createRunningInstance(admin, 'chaos-backups', password));
});

after(async () => {
  await svc?.stop();
});

const code = async (p: Promise<any>) => {
  const r = await p;
  return `${r.status} ${r.body?.error_code}`;
};

test('section 6: while a backup runs, another backup, a restore, every operation and the instance delete are refused with DCS.4096; while a restore runs, DCS.4097', async () => {
  await writeSet('s6', 5);
  const b = await admin.post(`/v2/${P}/instances/${id}/backups`, {});
  assert.equal(b.status, 200, b.text);
  assert.equal(await code(admin.post(`/v2/${P}/instances/${id}/backups`, {})), '400 DCS.4096');
  assert.equal(await code(admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' })), '400 DCS.4096');
  assert.equal(await code(admin.put(`/v2/${P}/instances/${id}/configs`, { redis_config: [{ param_name: 'maxmemory-policy', param_value: 'allkeys-lfu' }] })), '400 DCS.4096');
  assert.equal(await code(admin.del(`/v2/${P}/instances/${id}`)), '400 DCS.4096');
  assert.equal((await admin.get(`/v2/${P}/instances/${id}`)).body.status, 'RUNNING');
  const done = await record('backup', b.body.backup_id, (x) => finished(x.status), 'backup');
  assert.equal(done.status, 'succeed');
  // A record still in flight cannot be deleted (DCS.4017) — checked on a second backup.
  const b2 = await admin.post(`/v2/${P}/instances/${id}/backups`, {});
  assert.equal(await code(admin.del(`/v2/${P}/instances/${id}/backups/${b2.body.backup_id}`)), '400 DCS.4017');
  await record('backup', b2.body.backup_id, (x) => finished(x.status), 'second backup');

  const r = await admin.post(`/v2/${P}/instances/${id}/restores`, { backup_id: b.body.backup_id });
  assert.equal(r.status, 200, r.text);
  assert.equal((await admin.get(`/v2/${P}/instances/${id}`)).body.status, 'RESTORING');
  assert.equal(await code(admin.post(`/v2/${P}/instances/${id}/backups`, {})), '400 DCS.4097');
  assert.equal(await code(admin.post(`/v2/${P}/instances/${id}/restores`, { backup_id: b.body.backup_id })), '400 DCS.4097');
  // A restore that could never succeed is told so, not given a busy code to retry on.
  assert.equal(await code(admin.post(`/v2/${P}/instances/${id}/restores`, { backup_id: '00000000-0000-4000-8000-000000000000' })), '400 DCS.4800');
  assert.equal(await code(admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'restart' })), '400 DCS.4097');
  assert.equal(await code(admin.del(`/v2/${P}/instances/${id}`)), '400 DCS.4097');
  assert.equal(await code(admin.del(`/v2/${P}/instances/${id}/backups/${b.body.backup_id}`)), '400 DCS.4097');
  assert.equal((await record('restore', r.body.restore_id, (x) => finished(x.status), 'restore')).status, 'succeed');

  // A background task running refuses backups with its own code (flush: DCS.4026).
  const f = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' });
  assert.equal(f.status, 200, f.text);
  assert.equal(await code(admin.post(`/v2/${P}/instances/${id}/backups`, {})), '400 DCS.4026');
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks.every((t: any) => t.status === 'SUCCESS'), 30_000, 'flush');
});

/** Kill -9 while the backup's step `k` is held (by the record's progress), restart, check. */
for (const [step, progressOf] of [[1, (x: any) => x.status === 'waiting'], [2, (x: any) => x.progress === '50.00']] as const) {
  test(`kill -9 in backup step ${step}: the backup ends succeed with exactly the keys, or failed`, async () => {
    const expected = await writeSet(`b${step}`, 20);
    const b = await admin.post(`/v2/${P}/instances/${id}/backups`, {});
    assert.equal(b.status, 200, b.text);
    await record('backup', b.body.backup_id, progressOf, `backup step ${step}`);
    await svc.kill9();
    await svc.restart();
    admin = client(svc.url, svc.admin);
    const done = await record('backup', b.body.backup_id, (x) => finished(x.status), 'backup after restart');
    const dir = path.join(svc.dataDir, 'backups', id, b.body.backup_id);
    const files = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    assert.equal(files.filter((f) => f.startsWith('.tmp-')).length, 0, 'no temporary file is left');
    assert.equal(done.status, 'succeed', `resumed after the crash: ${JSON.stringify(done)}`);
    assert.equal(files.length, 1);
    // Restoring it proves the file's content: exactly the keys written before.
    await writeSet('noise', 3);
    const r = await admin.post(`/v2/${P}/instances/${id}/restores`, { backup_id: b.body.backup_id });
    assert.equal((await record('restore', r.body.restore_id, (x) => finished(x.status), 'restore')).status, 'succeed');
    assert.deepEqual(await keys(), expected);
  });
}

for (const [step, progressOf] of [
  [1, (x: any) => x.status === 'waiting'],
  [2, (x: any) => x.progress === '10.00'],
  [3, (x: any) => x.progress === '60.00'],
] as const) {
  test(`kill -9 in restore step ${step}: the instance holds the backup's keys (succeed) or the old ones (failed), never a mix`, async () => {
    const backupKeys = await writeSet(`rb${step}`, 15);
    const b = await admin.post(`/v2/${P}/instances/${id}/backups`, {});
    assert.equal((await record('backup', b.body.backup_id, (x) => finished(x.status), 'backup')).status, 'succeed');
    const oldKeys = await writeSet(`old${step}`, 7);
    const r = await admin.post(`/v2/${P}/instances/${id}/restores`, { backup_id: b.body.backup_id });
    assert.equal(r.status, 200, r.text);
    await record('restore', r.body.restore_id, progressOf, `restore step ${step}`);
    await svc.kill9();
    await svc.restart();
    admin = client(svc.url, svc.admin);
    // Before the resumed step does anything (it waits 1.2 s): Redis serves the old keys or the
    // backup's, or is down while the restore holds it — never the empty keyspace of a server
    // started on data set aside.
    const served = await redis().then(async (c) => { try { return (await c.keys('*')).sort(); } finally { c.disconnect(); } }, () => null);
    assert.ok(served === null || served.length > 0, `a client was served an empty keyspace after the restart (step ${step})`);
    // The resumed step waits 1.2 s before its work: the restore still runs, and shows.
    const shown = (await admin.get(`/v2/${P}/instances/${id}`)).body;
    assert.equal(shown.task?.name, 'restore', `the restore still runs: ${JSON.stringify(shown.task)}`);
    assert.equal(shown.status, 'RESTORING', 'the restart of the service started Redis again, and the restore still runs');
    const done = await record('restore', r.body.restore_id, (x) => finished(x.status), 'restore after restart');
    const now = await keys();
    if (done.status === 'succeed') assert.deepEqual(now, backupKeys);
    else assert.deepEqual(now, oldKeys, `failed restore must leave the old data: ${JSON.stringify(done)}`);
    assert.equal(done.status, 'succeed', 'an interrupted restore resumes');
    await waitFor(async () => (await admin.get(`/v2/${P}/instances/${id}`)).body.status === 'RUNNING', 20_000, 'RUNNING');
    const nodeDir = path.join(svc.dataDir, 'instances', id, 'node-0');
    assert.deepEqual(fs.readdirSync(nodeDir).filter((f) => f.startsWith('restore-aside')), [], 'the set-aside data is removed');
  });
}
