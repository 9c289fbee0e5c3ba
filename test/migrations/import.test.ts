/**
 * Imports that do not finish, through the API against real redis-servers: a target refusing the
 * password fails with the Redis error text, a file Redis cannot load fails, a stop settles within
 * 5 s (an import honours bandwidth_limit_mb, which makes it slow enough to stop); each leaves no
 * temporary redis-server running and no scratch directory behind (the service gets its own TMPDIR
 * to look in). An import cannot be configured as an online migration.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, tempDir, type Service } from '../helpers/service.js';
import { onRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { createRunningInstance } from '../helpers/instance.js';

const P = '{p}';
const tmp = tempDir('dcs-import-tmp-');
let svc: Service;
let admin: Client;
let source: TestRedis;
let targetId: string;
let targetPort: number;
/** Temporary servers a test saw, killed in `after` if a failure left them running. */
const leaked: number[] = [];

const show = async (id: string) => (await admin.get(`/v2/${P}/migration-task/${id}`)).body;
const logsOf = async (id: string) => (await admin.get(`/v2/${P}/migration-task/${id}/logs`, { query: { limit: '100' } })).body.migration_logs as any[];
const ended = (id: string) => waitFor(async () => { const m = await show(id); return ['SUCCESS', 'FAILED', 'TERMINATED'].includes(m.status) && m; }, 30_000, `${id} to end`);

/** Where the service keeps its imports' scratch directories. */
const importsDir = () => path.join(svc.dataDir, 'imports');

/**
 * Scratch directories of the service (and anything in its TMPDIR), and processes working in one: a
 * redis-server runs in its --dir (its command line is rewritten to `redis-server host:port`, so it
 * tells nothing).
 */
function leftovers(): string[] {
  const scratch = fs.existsSync(importsDir()) ? fs.readdirSync(importsDir()) : [];
  return [...scratch, ...fs.readdirSync(tmp), ...serversLeft().map((pid) => `process ${pid}`)];
}

function serversLeft(): number[] {
  return fs.readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(importsDir());
    } catch {
      return false; // exited meanwhile, or not ours
    }
  }).map(Number);
}

/** The first reply of a Redis server to `command`, on a plain socket (no client library's checks). */
function rawReply(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(command));
    socket.once('data', (d) => { resolve(String(d)); socket.destroy(); });
    socket.once('error', reject);
  });
}

/** A process that runs (a zombie nobody reaped has no cwd any more, and counts as gone). */
function running(pid: number): boolean {
  try {
    return /^[^ZX]$/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0]!);
  } catch {
    return false;
  }
}

/** Starts an import of bucket file `file` into the target; `extra` overrides the body's fields. */
async function importFile(name: string, file: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await admin.post(`/v2/${P}/migration-task`, {
    task_name: name, migration_type: 'backupfile_import', migration_method: 'full_amount_migration',
    backup_files: { file_source: 'self_build_obs', bucket_name: 'b', files: [{ file_name: file }] }, target_instance: { id: targetId }, ...extra,
  });
  assert.equal(r.status, 200, r.text);
  return r.body.id;
}

before(async () => {
  svc = await startService({ env: { TMPDIR: tmp } });
  admin = client(svc.url, svc.admin);
  ({ id: targetId, port: targetPort } = await createRunningInstance(admin, 'import-target', 'Tgt#Pass1234'));
  // 80 random values of 100 KB: 8 MB, 8 s of copying at 1 MB/s.
  source = await startRedis();
  const a = source.client();
  for (let i = 0; i < 80; i++) await a.set(`big:${i}`, randomBytes(100 * 1024));
  await a.save();
  const bucket = path.join(svc.dataDir, 'obs', 'b');
  fs.mkdirSync(bucket, { recursive: true });
  fs.copyFileSync(path.join((await a.config('GET', 'dir'))[1] as string, 'dump.rdb'), path.join(bucket, 'big.rdb'));
  fs.writeFileSync(path.join(bucket, 'junk.rdb'), 'not an rdb file');
  a.disconnect();
});

after(async () => {
  await svc?.stop();
  await source?.stop();
  for (const pid of [...serversLeft(), ...leaked]) if (running(pid)) process.kill(pid, 'SIGKILL'); // what a failing run leaked
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a target refusing the password: FAILED with the WRONGPASS text; the temporary server and its copy are gone', async () => {
  const id = await importFile('wrong-target-password', 'big.rdb', { target_instance: { id: targetId, password: 'Not#The1234' } });
  assert.equal((await ended(id)).status, 'FAILED');
  const error = (await logsOf(id)).find((l) => l.log_level === 'ERROR');
  assert.match(error.message, /WRONGPASS/);
  assert.deepEqual(leftovers(), []);
});

test('a file Redis cannot load: FAILED; its scratch directory is gone', async () => {
  const id = await importFile('junk', 'junk.rdb');
  assert.equal((await ended(id)).status, 'FAILED');
  assert.match((await logsOf(id)).find((l) => l.log_level === 'ERROR').message, /not an RDB file/);
  assert.deepEqual(leftovers(), []);
});

test('configuring an import is refused with DCS.4026 and changes nothing', async () => {
  const id = await importFile('not-online', 'junk.rdb');
  const before = await ended(id);
  const r = await admin.post(`/v2/${P}/migration/${id}/task`, {
    migration_method: 'full_amount_migration', source_instance: { addrs: `127.0.0.1:${source.port}` }, target_instance: { id: targetId },
  });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error_code, 'DCS.4026');
  assert.deepEqual(await show(id), before);
});

test('a stop halts a throttled import within 5 s, keeping what it copied; the temporary server (password-protected) and its copy are gone', async () => {
  const keys = () => onRedis(targetPort, 'Tgt#Pass1234', (r) => r.dbsize());
  await onRedis(targetPort, 'Tgt#Pass1234', (r) => r.flushall());
  const id = await importFile('stopped', 'big.rdb', { bandwidth_limit_mb: '1' });
  await waitFor(async () => (await keys()) > 0, 10_000, 'the first keys on the target');
  // The temporary server holds the file's data on loopback: another local user gets nothing from it.
  const [server] = serversLeft();
  const port = Number(/:(\d+)/.exec(fs.readFileSync(`/proc/${server}/cmdline`, 'utf8'))?.[1]);
  assert.ok(port > 0, 'the temporary server listens on a port');
  assert.match(await rawReply(port, 'GET k1\r\n'), /^-NOAUTH/);
  assert.equal(fs.statSync(path.join(fs.readlinkSync(`/proc/${server}/cwd`), 'redis.conf')).mode & 0o777, 0o600, 'its password file is the service user\'s only');
  const stop = await admin.post(`/v2/${P}/migration-task/${id}/stop`, undefined);
  assert.equal(stop.status, 200, stop.text);
  await waitFor(async () => (await show(id)).status === 'TERMINATED', 5000, 'TERMINATED within 5 s');
  const copied = await keys();
  assert.ok(copied > 0 && copied < 80, `${copied} of 80 keys copied`);
  assert.deepEqual(leftovers(), []);
});

test('kill -9 during an import leaves its temporary server running; the next start stops it and removes its copy before the import resumes', async () => {
  const keys = () => onRedis(targetPort, 'Tgt#Pass1234', (r) => r.dbsize());
  await onRedis(targetPort, 'Tgt#Pass1234', (r) => r.flushall());
  const id = await importFile('killed', 'big.rdb', { bandwidth_limit_mb: '1' });
  await waitFor(async () => (await keys()) > 0, 10_000, 'the first keys on the target');
  const servers = serversLeft();
  leaked.push(...servers);
  assert.equal(servers.length, 1, 'one temporary server while the import copies');
  const [dir] = fs.readdirSync(importsDir());
  await svc.kill9();
  assert.ok(running(servers[0]!), 'a kill -9 stops no child: the temporary server lives on');
  assert.ok(fs.existsSync(path.join(importsDir(), dir!)));

  await svc.restart();
  admin = client(svc.url, svc.admin);
  // The service answers only once its start is done: the leftover is gone by then.
  assert.equal(running(servers[0]!), false, 'the start stopped the leftover server');
  assert.equal(fs.existsSync(path.join(importsDir(), dir!)), false, 'and removed its copy');
  const stop = await admin.post(`/v2/${P}/migration-task/${id}/stop`, undefined);
  assert.equal(stop.status, 200, stop.text);
  await waitFor(async () => (await show(id)).status === 'TERMINATED', 10_000, 'TERMINATED');
  await waitFor(async () => leftovers().length === 0, 10_000, 'nothing left');
});
