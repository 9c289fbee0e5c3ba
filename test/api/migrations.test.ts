/**
 * Data migrations against real redis-servers (automation.md §4): a full copy moves every key with
 * its value and TTL; an incremental migration follows source writes until stopped, then the target
 * is writable and later writes stay on the source; sync-stop ends it SUCCESS; a running migration
 * cannot be deleted and keeps its instances from being deleted; unknown ids answer 400 DCS.4133;
 * an import loads RDB files; no password is ever shown.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.js';
import { RedisClients, assertSameKeys, seed } from '../helpers/keyspace.js';

const P = '{p}';
const SRC_PASSWORD = 'Src#Pass1234';
const TARGET_PASSWORD = 'Tgt#Pass1234';
const UNKNOWN = 'f'.repeat(32);
let svc: Service;
let admin: Client;
let source: TestRedis;
let src: Redis;
let dst: Redis;
let targetId: string;
let targetPort: number;
const clients = new RedisClients();
const redis = (port: number, password: string) => clients.open(port, password);

async function statusOf(id: string): Promise<string> {
  const r = await admin.get(`/v2/${P}/migration-task/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body.status;
}

const reaches = (id: string, statuses: string[], ms = 60_000) =>
  waitFor(async () => { const s = await statusOf(id); return statuses.includes(s) && s; }, ms, `migration ${id} in ${statuses.join('/')}`);

async function createOnline(name: string): Promise<string> {
  const r = await admin.post(`/v2/${P}/migration/instance`, { name, vpc_id: 'vpc-1', subnet_id: 'subnet-1', security_group_id: 'sg-1' });
  assert.equal(r.status, 200, r.text);
  return r.body.instance_id;
}

const configure = (id: string, method: string, extra: Record<string, unknown> = {}) =>
  admin.post(`/v2/${P}/migration/${id}/task`, {
    migration_method: method, source_instance: { addrs: `127.0.0.1:${source.port}`, password: SRC_PASSWORD }, target_instance: { id: targetId }, ...extra,
  });

before(async () => {
  svc = await startService({ env: { DCS_MIGRATION_GIVE_UP_MS: '8000', DCS_MIGRATION_RETRY_MS: '1000' } });
  admin = client(svc.url, svc.admin);
  source = await startRedis(SRC_PASSWORD);
  src = redis(source.port, SRC_PASSWORD);
  const r = await admin.post(`/v2/${P}/instances`, { name: 'mig-target', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password: TARGET_PASSWORD });
  assert.equal(r.status, 200, r.text);
  targetId = r.body.instances[0].instance_id;
  const port = (await waitFor(async () => {
    const x = await admin.get(`/v2/${P}/instances/${targetId}`);
    return x.body.status === 'RUNNING' && x.body.port;
  }));
  targetPort = port;
  dst = redis(port, TARGET_PASSWORD);
});

after(async () => {
  clients.closeAll();
  await svc?.stop();
  await source?.stop();
});

test('unknown migration ids answer 400 DCS.4133, malformed ones 400 DCS.4070, with the error body', async () => {
  for (const [method, url, body] of [
    ['GET', `/v2/${P}/migration-task/${UNKNOWN}`], ['GET', `/v2/${P}/migration-task/${UNKNOWN}/stats`],
    ['GET', `/v2/${P}/migration-task/${UNKNOWN}/logs`], ['POST', `/v2/${P}/migration-task/${UNKNOWN}/stop`],
    ['POST', `/v2/${P}/migration-task/${UNKNOWN}/sync-stop`],
    ['POST', `/v2/${P}/migration/${UNKNOWN}/task`, { migration_method: 'full_amount_migration', source_instance: { addrs: '127.0.0.1:1' }, target_instance: { addrs: '127.0.0.1:2' } }],
    ['DELETE', `/v2/${P}/migration-tasks/delete`, { task_id_list: [UNKNOWN] }],
  ] as const) {
    const r = await admin.call(method, url, body ? { body } : {});
    assert.equal(r.status, 400, `${method} ${url}: ${r.text}`);
    assert.deepEqual(r.body, { error_code: 'DCS.4133', error_msg: r.body.error_msg, error_ext_msg: null }, url);
    assert.ok(r.headers.get('x-request-id'));
  }
  const bad = await admin.get(`/v2/${P}/migration-task/not-an-id`);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error_code, 'DCS.4070');
  const batch = await admin.post(`/v2/${P}/migration-task/batch-stop`, { migration_tasks: [UNKNOWN, 'bad'] });
  assert.equal(batch.status, 200, batch.text);
  assert.deepEqual(batch.body.migration_tasks.map((x: any) => [x.result, x.error_code]), [['failed', 'DCS.4133'], ['failed', 'DCS.4070']]);
});

test('bad configuration is refused before anything changes', async () => {
  const id = await createOnline('bad-config');
  const cases: [unknown, string][] = [
    [{ migration_method: 'full_amount_migration', source_instance: { addrs: '127.0.0.1:1', id: targetId }, target_instance: { id: targetId } }, 'DCS.4800'],
    [{ migration_method: 'full_amount_migration', source_instance: { id: targetId }, target_instance: { id: targetId } }, 'DCS.4800'],
    [{ migration_method: 'sideways', source_instance: { addrs: '127.0.0.1:1' }, target_instance: { id: targetId } }, 'DCS.4800'],
    [{ migration_method: 'full_amount_migration', bandwidth_limit_mb: '0', source_instance: { addrs: '127.0.0.1:1' }, target_instance: { id: targetId } }, 'DCS.4800'],
    [{ migration_method: 'full_amount_migration', source_instance: { addrs: '127.0.0.1:1' }, target_instance: { id: '0c7c6c0b-8f0e-4d8b-9d6f-2d1d4f3c6b11' } }, 'DCS.3022'],
    // A malformed id is refused as one (api.md), before any lookup.
    [{ migration_method: 'full_amount_migration', source_instance: { addrs: '127.0.0.1:1' }, target_instance: { id: 'zzz' } }, 'DCS.4061'],
    [{ migration_method: 'full_amount_migration', source_instance: { id: '../x' }, target_instance: { id: targetId } }, 'DCS.4061'],
    // One Redis however it is named: an instance and its own address, two spellings of loopback.
    [{ migration_method: 'full_amount_migration', source_instance: { addrs: `127.0.0.1:${targetPort}` }, target_instance: { id: targetId } }, 'DCS.4800'],
    [{ migration_method: 'full_amount_migration', source_instance: { addrs: `localhost:${source.port}` }, target_instance: { addrs: `127.0.0.1:${source.port}` } }, 'DCS.4800'],
  ];
  for (const [body, code] of cases) {
    const r = await admin.post(`/v2/${P}/migration/${id}/task`, body);
    assert.equal(r.body.error_code, code, `${JSON.stringify(body)}: ${r.text}`);
  }
  assert.equal(await statusOf(id), 'RUNNING');
  // The one-step create and the import check their ids the same way, and create nothing.
  const before = (await admin.get(`/v2/${P}/migration-tasks`)).body.count;
  const oneStep = await admin.post(`/v2/${P}/migration-task`, {
    task_name: 'bad-one-step', migration_type: 'online_migration', migration_method: 'full_amount_migration',
    source_instance: { id: 'NOT-A-UUID' }, target_instance: { id: targetId },
  });
  assert.equal(oneStep.body.error_code, 'DCS.4061', oneStep.text);
  const badImport = await admin.post(`/v2/${P}/migration-task`, {
    task_name: 'bad-import', migration_type: 'backupfile_import', migration_method: 'full_amount_migration',
    backup_files: { file_source: 'self_build_obs', bucket_name: 'b', files: [{ file_name: 'x.rdb' }] }, target_instance: { id: '../x' },
  });
  assert.equal(badImport.body.error_code, 'DCS.4061', badImport.text);
  assert.equal((await admin.get(`/v2/${P}/migration-tasks`)).body.count, before);
});

test('create, job, full copy: every key, value and TTL on the target; target-only keys kept; no password shown', async () => {
  await src.flushall();
  await seed(src, 3000, 0);
  await seed(src, 600, 3);
  await dst.set('target-only', 'kept');
  const r = await admin.post(`/v2/${P}/migration/instance`, { name: 'full-copy', description: 'd', vpc_id: 'vpc-1', subnet_id: 'subnet-1', security_group_id: 'sg-1' });
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.instance_id, /^[0-9a-f]{32}$/);
  const job = await admin.get(`/v2/${P}/jobs/${r.body.job_id}`);
  assert.equal(job.status, 200, job.text);
  assert.equal(job.body.job_type, 'createMigrationTask');
  assert.equal(job.body.status, 'SUCCESS');
  const id = r.body.instance_id;
  assert.equal(await statusOf(id), 'RUNNING');

  // resume_mode "": what the Terraform provider sends when the user leaves it unset — the default.
  const c = await configure(id, 'full_amount_migration', { resume_mode: '' });
  assert.equal(c.status, 200, c.text);
  assert.deepEqual(c.body, { id, name: 'full-copy', status: 'MIGRATING' });
  assert.equal((await admin.get(`/v2/${P}/migration-task/${id}`)).body.resume_mode, 'auto');
  assert.equal(await reaches(id, ['SUCCESS', 'FAILED']), 'SUCCESS', JSON.stringify((await admin.get(`/v2/${P}/migration-task/${id}/logs`)).body));
  assert.equal(await assertSameKeys(src, dst, 0), 3000);
  assert.equal(await assertSameKeys(src, dst, 3), 600);
  assert.equal(await dst.get('target-only'), 'kept');

  const show = await admin.get(`/v2/${P}/migration-task/${id}`);
  assert.equal(show.body.source_instance.addrs, `127.0.0.1:${source.port}`);
  assert.equal(show.body.source_instance.password, null);
  assert.equal(show.body.target_instance.id, targetId);
  assert.equal(show.body.tenant_vpc_id, 'vpc-1');
  const stats = await admin.get(`/v2/${P}/migration-task/${id}/stats`);
  assert.equal(stats.body.full_migration_progress, '100');
  assert.equal(stats.body.source_dbsize, '3600');
  assert.equal(stats.body.is_migrating, false);
  const list = await admin.get(`/v2/${P}/migration-tasks`, { query: { name: 'full-co' } });
  assert.equal(list.body.count, 1);
  assert.equal(list.body.migration_tasks[0].target_instance_id, targetId);
  assert.equal(list.body.migration_tasks[0].data_source, `127.0.0.1:${source.port}`);
  const logs = await admin.get(`/v2/${P}/migration-task/${id}/logs`);
  assert.ok(logs.body.migration_logs.some((l: any) => l.log_level === 'INFO' && /3600 keys copied/.test(l.message)), logs.text);
  for (const text of [show.text, stats.text, list.text, logs.text, svc.output()]) assert.ok(!text.includes(SRC_PASSWORD), 'a password leaked');
  // A migration is not a background task of its target.
  const tasks = await admin.get(`/v2/${P}/instances/${targetId}/tasks`);
  assert.ok(!tasks.body.tasks.some((t: any) => t.name === 'migrateData' || t.name === 'createMigrationTask'));

  // Its jobs and runs are tasks of the project until the migration is deleted, then they go with it.
  const jobsOf = async () => (await admin.get(`/v2/${P}/tasks`, { query: { limit: '1000' } })).body.tasks.filter((t: any) => t.instance_id === id);
  assert.ok((await jobsOf()).length > 0, 'the migration has tasks in the task centre');
  const del = await admin.del(`/v2/${P}/migration-tasks/delete`, { body: { task_id_list: [id, id] } });
  assert.equal(del.status, 200, del.text);
  assert.deepEqual(del.body, { task_id_list: [id] });
  assert.deepEqual(await jobsOf(), [], 'the migration took its tasks with it');
  assert.equal((await admin.get(`/v2/${P}/migration-task/${id}`)).body.error_code, 'DCS.4133');
  assert.equal((await admin.get(`/v2/${P}/migration-tasks`, { query: { name: 'full-co' } })).body.count, 0);
  assert.equal(await dst.exists('k:0:1'), 1, 'target data stays after a delete');
});

test('incremental: writes follow within 5 s; delete refused while running (DCS.4017, instance DCS.4099); stop leaves the target writable; sync-stop ends SUCCESS', async () => {
  await src.flushall();
  await seed(src, 500, 0);
  const id = await createOnline('incremental');
  assert.equal((await configure(id, 'incremental_migration')).status, 200);
  assert.equal(await reaches(id, ['INCRMIGEATING', 'FAILED']), 'INCRMIGEATING');

  await src.set('live-1', 'a');
  await src.hset('live-h', 'f', 'v');
  await waitFor(async () => (await dst.get('live-1')) === 'a' && (await dst.hget('live-h', 'f')) === 'v', 5000, 'source writes on the target');

  const del = await admin.del(`/v2/${P}/migration-tasks/delete`, { body: { task_id_list: [id] } });
  assert.equal(del.status, 400);
  assert.equal(del.body.error_code, 'DCS.4017');
  const delInstance = await admin.del(`/v2/${P}/instances/${targetId}`);
  assert.equal(delInstance.status, 400, delInstance.text);
  assert.equal(delInstance.body.error_code, 'DCS.4099');
  const again = await configure(id, 'incremental_migration');
  assert.equal(again.body.error_code, 'DCS.4026');
  const stats = await admin.get(`/v2/${P}/migration-task/${id}/stats`);
  assert.equal(stats.body.is_migrating, true);

  const stop = await admin.post(`/v2/${P}/migration-task/${id}/stop`, undefined);
  assert.equal(stop.status, 200, stop.text);
  assert.ok(['TERMINATING', 'TERMINATED'].includes(stop.body.status));
  assert.equal(await reaches(id, ['TERMINATED'], 5000), 'TERMINATED');
  assert.match(await dst.info('replication'), /role:master/);
  assert.equal(await dst.set('target-write', 'ok'), 'OK');
  await src.set('after-stop', 'x');
  await src.set('after-stop-2', 'y');
  await new Promise((r) => setTimeout(r, 1500)); // a write that would replicate arrives in well under 1.5 s
  assert.equal(await dst.exists('after-stop', 'after-stop-2'), 0, 'a write after stop reached the target');
  assert.equal(await dst.get('live-1'), 'a', 'what was copied stays');
  const logNum = async () => (await admin.get(`/v2/${P}/migration-task/${id}/logs`)).body.log_num as number;
  const logsBefore = await logNum();
  const second = await admin.post(`/v2/${P}/migration-task/${id}/stop`, undefined);
  assert.equal(second.status, 200, 'a second stop is accepted unchanged');
  assert.equal(second.body.status, 'TERMINATED');
  assert.equal((await admin.post(`/v2/${P}/migration-task/batch-stop`, { migration_tasks: [id] })).status, 200);
  assert.equal(await logNum(), logsBefore, 'stopping a TERMINATED task wrote to its log');

  const restart = await admin.post(`/v2/${P}/migration-tasks/batch-restart`, { migration_tasks: [id] });
  assert.deepEqual(restart.body.migration_tasks, [{ task_id: id, result: 'success', error_code: null, error_msg: null }]);
  assert.equal(await reaches(id, ['INCRMIGEATING', 'FAILED']), 'INCRMIGEATING');
  await src.set('before-sync-stop', '1');
  const sync = await admin.post(`/v2/${P}/migration-task/${id}/sync-stop`, undefined);
  assert.equal(sync.status, 204, sync.text);
  assert.equal(await statusOf(id), 'SUCCESS');
  assert.equal(await dst.get('before-sync-stop'), '1');
  assert.match(await dst.info('replication'), /role:master/);
  assert.equal((await admin.post(`/v2/${P}/migration-task/${id}/sync-stop`, undefined)).body.error_code, 'DCS.4026');
});

test('bandwidth_limit_mb caps the payload rate: 4 MB at 1 MB/s takes at least 3 s', async () => {
  await src.flushall();
  // Random bytes: DUMP compresses a repetitive value to almost nothing.
  const value = randomBytes(15_000).toString('base64'); // 20,000 characters
  const p = src.pipeline();
  for (let i = 0; i < 200; i++) p.set(`big:${i}`, value);
  await p.exec();
  const id = await createOnline('throttled');
  const started = Date.now();
  assert.equal((await configure(id, 'full_amount_migration', { bandwidth_limit_mb: '1' })).status, 200);
  assert.equal(await reaches(id, ['SUCCESS', 'FAILED']), 'SUCCESS');
  const took = Date.now() - started;
  assert.ok(took >= 3000, `copied 4 MB in ${took} ms at 1 MB/s`);
  assert.equal(await dst.get('big:199'), value);
  assert.equal((await admin.get(`/v2/${P}/migration-task/${id}`)).body.bandwidth_limit_mb, '1');
});

test('a source that cannot be reached makes the migration FAILED with an ERROR log', async () => {
  const id = await createOnline('lost-source');
  const closed = await freePort(); // nothing listens there
  const r = await admin.post(`/v2/${P}/migration/${id}/task`, {
    migration_method: 'full_amount_migration', source_instance: { addrs: `127.0.0.1:${closed}` }, target_instance: { id: targetId },
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(await reaches(id, ['FAILED', 'SUCCESS'], 30_000), 'FAILED', JSON.stringify((await admin.get(`/v2/${P}/migration-task/${id}/logs`)).body));
  const logs = await admin.get(`/v2/${P}/migration-task/${id}/logs`, { query: { log_level: 'ERROR' } });
  assert.ok(logs.body.log_num >= 1);
  assert.ok(logs.body.migration_logs.every((l: any) => l.log_level === 'ERROR'));
  const list = await admin.get(`/v2/${P}/migration-tasks`, { query: { name: 'lost-source' } });
  assert.notEqual(list.body.migration_tasks[0].error_message, '');
  assert.equal((await admin.get(`/v2/${P}/migration-task/${id}/logs`, { query: { log_level: 'WARN' } })).body.error_code, 'DCS.4800');
});

test('import from RDB files in the local OBS bucket; a non-RDB file fails; a missing file or backup is refused', async () => {
  await src.flushall();
  await seed(src, 400, 0, 'rdb');
  await src.save();
  const dir = (await src.config('GET', 'dir'))[1] as string;
  const bucket = path.join(svc.dataDir, 'obs', 'bucket1');
  fs.mkdirSync(bucket, { recursive: true });
  fs.copyFileSync(path.join(dir, 'dump.rdb'), path.join(bucket, 'a.rdb'));
  fs.writeFileSync(path.join(bucket, 'junk.rdb'), 'not an rdb file');
  const body = (file: string) => ({
    task_name: `import-${file}`, migration_type: 'backupfile_import', migration_method: 'full_amount_migration',
    backup_files: { file_source: 'self_build_obs', bucket_name: 'bucket1', files: [{ file_name: file }] }, target_instance: { id: targetId },
  });
  const ok = await admin.post(`/v2/${P}/migration-task`, body('a.rdb'));
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.status, 'MIGRATING');
  assert.equal(await reaches(ok.body.id, ['SUCCESS', 'FAILED']), 'SUCCESS', JSON.stringify((await admin.get(`/v2/${P}/migration-task/${ok.body.id}/logs`)).body));
  assert.equal(await assertSameKeys(src, dst, 0), 400);

  const junk = await admin.post(`/v2/${P}/migration-task`, body('junk.rdb'));
  assert.equal(await reaches(junk.body.id, ['SUCCESS', 'FAILED']), 'FAILED');
  const missing = await admin.post(`/v2/${P}/migration-task`, body('missing.rdb'));
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error_code, 'DCS.4800');
  assert.match(missing.body.error_msg, /missing\.rdb/);
  const backup = await admin.post(`/v2/${P}/migration-task`, { ...body('a.rdb'), backup_files: { file_source: 'backup_record', backup_id: 'b1' } });
  assert.equal(backup.body.error_code, 'DCS.4031');
});

test('import from a backup record: the backup file of an instance of the project loads into the target', async () => {
  // A backup of the target itself: the keys it holds now, then gone, then back through the import.
  // The source holds the same keys, written the same way, to compare against (value and TTL).
  await src.flushall();
  await dst.flushall();
  await seed(src, 120, 0, 'bk');
  await seed(dst, 120, 0, 'bk');
  const created = await admin.post(`/v2/${P}/instances/${targetId}/backups`, { remark: 'for import', backup_format: 'rdb' });
  assert.equal(created.status, 200, created.text);
  const backupId = created.body.backup_id;
  await waitFor(async () => {
    const list = (await admin.get(`/v2/${P}/instances/${targetId}/backups`)).body.backup_record_response;
    const b = list?.find((x: any) => x.backup_id === backupId);
    return b?.status === 'succeed' && b;
  }, 30_000, 'backup succeed');
  await dst.flushall();

  const r = await admin.post(`/v2/${P}/migration-task`, {
    task_name: 'import-backup', migration_type: 'backupfile_import', migration_method: 'full_amount_migration',
    backup_files: { file_source: 'backup_record', backup_id: backupId }, target_instance: { id: targetId },
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(await reaches(r.body.id, ['SUCCESS', 'FAILED']), 'SUCCESS', JSON.stringify((await admin.get(`/v2/${P}/migration-task/${r.body.id}/logs`)).body));
  assert.equal(await assertSameKeys(src, dst, 0), 120);
  assert.equal(await dst.dbsize(), 120);
  // The service's own file path is not shown.
  const shown = await admin.get(`/v2/${P}/migration-task/${r.body.id}`);
  assert.equal(shown.body.backup_files.backup_id, backupId);
  // Where the Terraform provider reads it back (flattenBackupImportTaskBackupFiles).
  assert.deepEqual(shown.body.backup_files.backup_record, { backup_id: backupId });
  assert.equal(shown.body.network_type, null, 'not given: null, not a value outside the SDK\'s vpc | vpn');
  assert.doesNotMatch(shown.text, /backups\//);
  // Unknown, or of a failed state: DCS.4031.
  const unknown = await admin.post(`/v2/${P}/migration-task`, {
    task_name: 'import-unknown', migration_type: 'backupfile_import', migration_method: 'full_amount_migration',
    backup_files: { file_source: 'backup_record', backup_id: '00000000-0000-0000-0000-000000000000' }, target_instance: { id: targetId },
  });
  assert.equal(unknown.body.error_code, 'DCS.4031');
});
