/**
 * Offline import (automation.md §4.3, §4.7): each RDB file, in order, is loaded by a temporary
 * redis-server on loopback (free port, scratch directory, no persistence, a random password) and copied to the
 * target like an online full copy (bandwidth limit and stop included); then the server is stopped
 * and its directory removed. An interrupted import starts its files over (RESTORE … REPLACE makes
 * that harmless). Scratch directories live in `<data>/imports`, each with the server's pid file,
 * so that a start after a kill -9 stops the servers the dead process left and removes their copies.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import fs from 'node:fs';
import path from 'node:path';
import { StepFailure, type StepContext } from '../engine/operation.js';
import { findFreePort } from '../redis/ports.js';
import { leftoverRedis, stopProcess } from '../redis/leftovers.js';
import { keyspace, type RedisTarget } from '../redis/commands.js';
import type { InstanceRecord } from '../instances/records.js';
import type { Store } from '../store/types.js';
import type { CopyProgress, MigrationRecord } from './records.js';
import { NO_PROGRESS } from './records.js';
import { RedisRefused, fullCopy, open, type CopyHooks } from './copier.js';

export interface ImportDeps {
  /** `<data>/obs/<bucket>/<file>` is where self_build_obs files are found (the local stand-in for OBS). */
  dataDir: string;
  redisServer: string;
}

interface Deps extends ImportDeps {
  store: Store;
  targetOf(i: InstanceRecord): RedisTarget;
}

export function obsFile(dataDir: string, bucket: string, file: string): string {
  return path.join(dataDir, 'obs', bucket, file);
}

/** The files an import loads, as kept in its settings (a bucket's files, or a backup's file). */
export function importFilePaths(m: Pick<MigrationRecord, 'settings'>): string[] {
  const b = m.settings.backupFiles ?? {};
  return Array.isArray(b.paths) ? (b.paths as string[]) : [];
}

/** Where imports keep their temporary servers' directories; created when `create`. */
function scratchRoot(dataDir: string, create = false): string {
  const root = path.join(dataDir, 'imports');
  if (create) fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  return root;
}

/**
 * What imports of a killed service process left: their temporary redis-servers are stopped and
 * their directories removed. Run at start, before the engine resumes any import (whose new
 * server must not be taken for a leftover). Returns how many servers were stopped.
 */
export async function sweepImportLeftovers(dataDir: string): Promise<number> {
  const root = scratchRoot(dataDir);
  if (!fs.existsSync(root)) return 0;
  let stopped = 0;
  for (const name of fs.readdirSync(root)) {
    const dir = path.join(root, name);
    const pid = leftoverRedis(dir);
    if (pid !== null) {
      await stopProcess(pid);
      stopped++;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return stopped;
}

/** What the run gives an import: where progress goes, whether a stop came, the bandwidth limit. */
export type ImportHooks = Pick<CopyHooks, 'saveProgress' | 'stopRequested' | 'bytesPerSecond'>;

/** Imports every file in order; returns the progress, `done` unless a stop came first. */
export async function importFiles(d: Deps, ctx: StepContext<unknown>, m: MigrationRecord, h: ImportHooks): Promise<CopyProgress> {
  const files = importFilePaths(m);
  const target = m.settings.target?.instanceId ? await d.store.getInstanceById(m.settings.target.instanceId) : null;
  if (!target) throw new StepFailure('DCS.5000', 'The target instance no longer exists.');
  const dstTarget = { ...d.targetOf(target), password: m.secrets.targetPassword ?? target.password };
  let copied = 0;
  for (const filePath of files) {
    const file = path.basename(filePath);
    // Everything from the scratch directory on is inside the try: a file Redis cannot load, a
    // target that refuses us, a stop or a lost lease left the server running or its copy behind.
    const scratch = fs.mkdtempSync(path.join(scratchRoot(d.dataDir, true), 'import-'));
    let child: TempServer | null = null;
    let src: Redis | null = null;
    let dst: Redis | null = null;
    try {
      child = await loadRdb(d.redisServer, filePath, scratch, file);
      src = await open({ host: '127.0.0.1', port: child.port, password: child.password }, `file ${file}`);
      dst = await open(dstTarget, 'target');
      const total = (await keyspace(src)).reduce((a, x) => a + x.keys, 0);
      const end = await fullCopy(src, dst, { ...NO_PROGRESS, total }, {
        signal: ctx.signal, beforeEffect: () => ctx.assertOwned(), stopRequested: h.stopRequested, bytesPerSecond: h.bytesPerSecond,
        saveProgress: async (p) => h.saveProgress({ ...p, copied: copied + p.copied, done: false }),
      });
      copied += end.copied;
      if (!end.done) return { ...end, copied }; // stopped: the progress fullCopy saved last
    } catch (e) {
      if (e instanceof RedisRefused) throw new StepFailure('DCS.5000', e.message);
      throw e;
    } finally {
      src?.disconnect();
      dst?.disconnect();
      await child?.stop();
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }
  return { db: 0, cursor: '0', copied, total: copied, done: true };
}

interface TempServer {
  port: number;
  /** Random, in a 0600 config file: the file's data is no other local user's to read. */
  password: string;
  /** Kills the server; resolves once it has exited, so its directory can go. */
  stop(): Promise<void>;
}

/** Starts a throwaway redis-server that loads `file` as its RDB; refuses a file Redis cannot load. */
async function loadRdb(redisServer: string, file: string, scratch: string, name: string): Promise<TempServer> {
  if (!fs.existsSync(file)) throw new StepFailure('DCS.5000', `File ${name} is no longer in its bucket.`);
  fs.copyFileSync(file, path.join(scratch, 'dump.rdb'));
  const port = await findFreePort();
  const password = randomBytes(24).toString('hex');
  const conf = path.join(scratch, 'redis.conf');
  fs.writeFileSync(conf, `requirepass ${password}\n`, { mode: 0o600 });
  const child = spawn(redisServer, [conf, '--port', String(port), '--bind', '127.0.0.1', '--dir', scratch, '--dbfilename', 'dump.rdb',
    '--pidfile', path.join(scratch, 'redis.pid'), '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: 'ignore' });
  // A server that could not be spawned gives 'error' and maybe no 'exit': either ends it.
  const exited = new Promise<void>((res) => { child.once('exit', () => res()); child.once('error', () => res()); });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    try {
      const r = await open({ host: '127.0.0.1', port, password }, 'import');
      const loading = /^loading:1/m.test(await r.info('persistence'));
      r.disconnect();
      if (!loading) return { port, password, stop };
    } catch {
      // not up yet
    }
    await Promise.race([exited, new Promise((res) => setTimeout(res, 100))]);
  }
  await stop();
  throw new StepFailure('DCS.5000', `File ${name} is not an RDB file Redis can load.`);
}
