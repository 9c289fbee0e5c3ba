/**
 * Backups and restores (records.md §1–2) as engine tasks. They are DCS records, not background
 * tasks: each task has its record's id, is marked record_kind in the store and never shows in
 * /tasks. As tasks they obey the one-active-task rule, so while one runs every other operation
 * on the instance is refused with its busy code (DCS.4096 / DCS.4097), and it waits for none.
 * Their requests are served by http/routes/backups.ts through records/backups.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LeaseLost, StepFailure } from '../engine/operation.js';
import { configGet, ping } from '../redis/commands.js';
import { walkKeyspace } from '../redis/keyspace.js';
import { aofFilesInOrder, backgroundSave, concatInto, looksLike, syncDir } from '../redis/persistence.js';
import { masterOf } from '../instances/runtime.js';
import type { InstanceRecord } from '../instances/records.js';
import type { BackupPatch, BackupRecord, RestorePatch } from '../records/records.js';
import { backupDirOf, backupFileName } from '../records/files.js';
import type { InstanceOperation, OperationModule, OpRun } from './operation.js';

export interface BackupState {
  format: 'rdb' | 'aof';
  createdAt: number;
}

export interface RestoreState {
  backupId: string;
}

/** D8: a backup not done within an hour fails with dcs.08.0002. */
const BACKUP_TIMEOUT_MS = 3600_000;
/** Redis 7 defaults (the supervisor's redis.conf does not change them). */
const AOF_DIR = 'appendonlydir';
const AOF_NAME = 'appendonly.aof';
const RDB_NAME = 'dump.rdb';

async function writeBackup<S>(x: OpRun<S>, patch: BackupPatch): Promise<void> {
  if (!(await x.records.updateBackupAsTask(x.fence(), x.taskId, patch))) throw new LeaseLost();
}

async function writeRestore<S>(x: OpRun<S>, patch: RestorePatch): Promise<void> {
  if (!(await x.records.updateRestoreAsTask(x.fence(), x.taskId, patch))) throw new LeaseLost();
}

/**
 * The save is the first half of a backup's progress, the copy the second: the share of keys the
 * server has saved moves `progress` from 0.00 towards 50.00 (records.md: it follows
 * current_save_keys_processed/total), written when it has moved and at most every 250 ms (each
 * is a durable write); 50.00 itself means saved, copy under way.
 */
function saveProgress(write: (progress: number) => Promise<void>): (fraction: number) => Promise<void> {
  let shown = 0;
  let at = 0;
  return async (fraction) => {
    const p = Math.min(49.99, Math.floor(fraction * 5000) / 100);
    if (p <= shown || Date.now() - at < 250) return;
    shown = p;
    at = Date.now();
    await write(p);
  };
}

function removeTemporaries(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) if (f.startsWith('.tmp-')) fs.rmSync(path.join(dir, f), { force: true });
}

export const backupOperation: InstanceOperation<BackupState> = {
  name: 'backupRecord',
  busy: { code: 'DCS.4096', what: 'being backed up' },
  steps: [
    {
      name: 'Save the data on the server',
      timeoutMs: BACKUP_TIMEOUT_MS,
      run: async (x) => {
        const i = await x.instance();
        await writeBackup(x, { status: 'backuping', executionAt: Date.now(), progress: 0 });
        const progress = saveProgress((p) => writeBackup(x, { progress: p }));
        try {
          await backgroundSave(x.target(i), x.state.format, x.signal, progress);
        } catch (e) {
          if (e instanceof LeaseLost || x.signal.aborted) throw e;
          throw new StepFailure('dcs.08.0001', `No backup file was produced: ${(e as Error).message}`);
        }
        await writeBackup(x, { progress: 50 });
      },
    },
    {
      name: 'Copy the file into the backup store',
      run: async (x) => {
        const i = await x.instance();
        const master = masterOf(i);
        const nodeDir = x.nodeDir(i, master);
        const dir = backupDirOf(x.dataDir, i.id, x.taskId);
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        removeTemporaries(dir);
        const fileName = backupFileName(i.host, i.port, x.state.createdAt, x.state.format);
        const tmp = path.join(dir, `.tmp-${fileName}`);
        if (x.state.format === 'rdb') {
          const src = path.join(nodeDir, (await configGet(x.target(i), 'dbfilename')) ?? RDB_NAME);
          await concatInto(tmp, [src]);
        } else {
          const aofDir = path.join(nodeDir, (await configGet(x.target(i), 'appenddirname')) ?? AOF_DIR);
          await concatInto(tmp, aofFilesInOrder(aofDir, (await configGet(x.target(i), 'appendfilename')) ?? AOF_NAME));
        }
        if (!looksLike(tmp, x.state.format)) {
          fs.rmSync(tmp, { force: true });
          throw new StepFailure('dcs.08.0001', `The server's ${x.state.format} file is not a valid ${x.state.format.toUpperCase()} file.`);
        }
        const final = path.join(dir, fileName);
        fs.renameSync(tmp, final);
        syncDir(dir);
        await writeBackup(x, { status: 'succeed', progress: 100, size: fs.statSync(final).size, fileName, errorCode: null });
      },
    },
  ],
  onFailure: async (x, e) => {
    const i = await x.instance().catch(() => null);
    if (i) removeTemporaries(backupDirOf(x.dataDir, i.id, x.taskId));
    const code = /did not finish within/.test(e.message) ? 'dcs.08.0002' : 'dcs.08.0001';
    await writeBackup(x, { status: 'failed', errorCode: code });
  },
};

// ---- restore ----

/** The node's data set aside while a restore runs, put back if it fails. */
const ASIDE_PREFIX = 'restore-aside-';
const asideOf = (nodeDir: string, restoreId: string) => path.join(nodeDir, `${ASIDE_PREFIX}${restoreId}`);
const DATA_FILES = [AOF_DIR, RDB_NAME];

/**
 * Moves the node's data files aside (idempotent: a re-run after a crash finds them there and
 * removes what a restarted server wrote meanwhile, which is never the instance's data).
 */
function setAside(nodeDir: string, aside: string): void {
  if (!fs.existsSync(aside)) {
    const partial = `${aside}.tmp`;
    fs.mkdirSync(partial, { recursive: true });
    for (const f of DATA_FILES) {
      const src = path.join(nodeDir, f);
      if (!fs.existsSync(src)) continue;
      if (fs.existsSync(path.join(partial, f))) fs.rmSync(src, { recursive: true, force: true });
      else fs.renameSync(src, path.join(partial, f));
    }
    fs.renameSync(partial, aside);
    syncDir(nodeDir);
  }
  for (const f of DATA_FILES) fs.rmSync(path.join(nodeDir, f), { recursive: true, force: true });
}

/** Puts set-aside data back in place of whatever is there now. */
function putBack(nodeDir: string, aside: string): boolean {
  const from = fs.existsSync(aside) ? aside : fs.existsSync(`${aside}.tmp`) ? `${aside}.tmp` : null;
  if (!from) return false;
  for (const f of DATA_FILES) {
    if (!fs.existsSync(path.join(from, f))) continue;
    fs.rmSync(path.join(nodeDir, f), { recursive: true, force: true });
    fs.renameSync(path.join(from, f), path.join(nodeDir, f));
  }
  fs.rmSync(from, { recursive: true, force: true });
  syncDir(nodeDir);
  return true;
}

/**
 * At a start of the service: whether a node's server must stay stopped because a restore that
 * still runs set its data aside and has not installed the backup yet — started, it would serve an
 * empty keyspace until the resumed restore stops it again. The restore starts it itself.
 */
export async function heldByRestore(nodeDir: string, stillRunning: (taskId: string) => Promise<boolean>): Promise<boolean> {
  if (!fs.existsSync(nodeDir) || fs.existsSync(path.join(nodeDir, AOF_DIR))) return false;
  for (const id of asideIds(nodeDir)) if (await stillRunning(id)) return true;
  return false;
}

/** The restore ids asideOf named a node's set-aside directories after (a partial one ends in .tmp). */
function asideIds(nodeDir: string): Set<string> {
  const names = fs.existsSync(nodeDir) ? fs.readdirSync(nodeDir).filter((f) => f.startsWith(ASIDE_PREFIX)) : [];
  return new Set(names.map((f) => f.slice(ASIDE_PREFIX.length).replace(/\.tmp$/, '')));
}

/**
 * At a start of the service, before an instance's redis-servers start: the data a restore set
 * aside is put back when its task no longer runs — another service node failed it while this
 * one was down (its failure handling, which puts data back, ran nowhere), or it was deleted
 * since. A restore still running resumes and settles its data itself. Returns the task ids.
 */
export async function putBackAbandonedRestores(
  nodeDirs: string[], stillRunning: (taskId: string) => Promise<boolean>,
): Promise<string[]> {
  const put: string[] = [];
  for (const nodeDir of nodeDirs) {
    for (const id of asideIds(nodeDir)) {
      if (await stillRunning(id)) continue;
      if (putBack(nodeDir, asideOf(nodeDir, id))) put.push(id);
    }
  }
  return put;
}

/**
 * Installs a backup file as the node's AOF base (Redis 7 loads an RDB or an AOF with an RDB
 * preamble as a base file), built under a temporary name and renamed into place: the server
 * then loads exactly the backup, and keeps it across later restarts with AOF on as always.
 */
async function installAsAof(nodeDir: string, backupFile: string, format: 'rdb' | 'aof'): Promise<void> {
  const tmp = path.join(nodeDir, `${AOF_DIR}.restore-tmp`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { mode: 0o700 });
  const base = `${AOF_NAME}.1.base.${format}`;
  await concatInto(path.join(tmp, base), [backupFile]);
  fs.writeFileSync(path.join(tmp, `${AOF_NAME}.manifest`), `file ${base} seq 1 type b\n`, { mode: 0o600 });
  syncDir(tmp);
  fs.rmSync(path.join(nodeDir, AOF_DIR), { recursive: true, force: true });
  fs.renameSync(tmp, path.join(nodeDir, AOF_DIR));
  syncDir(nodeDir);
}

async function backupOf<S>(x: OpRun<S>, backupId: string): Promise<BackupRecord> {
  const b = await x.records.getBackup(backupId);
  if (!b || !b.fileName) throw new StepFailure('dcs.08.0007', 'The backup file is no longer available.');
  return b;
}

async function restoring<S>(x: OpRun<S>): Promise<InstanceRecord> {
  const i = await x.instance();
  return i.status === 'RESTORING' ? i : x.save(i, { status: 'RESTORING' });
}

export const restoreOperation: InstanceOperation<RestoreState> = {
  name: 'restoreRecord',
  busy: { code: 'DCS.4097', what: 'being restored' },
  steps: [
    {
      name: 'Stop Redis and set its data aside',
      run: async (x) => {
        const i = await restoring(x);
        await writeRestore(x, { status: 'restoring', progress: 10 });
        const master = masterOf(i);
        await x.processes.stopNode(i, master.name);
        setAside(x.nodeDir(i, master), asideOf(x.nodeDir(i, master), x.taskId));
      },
    },
    {
      name: 'Install the backup file and start Redis',
      run: async (x) => {
        const i = await restoring(x);
        const master = masterOf(i);
        const nodeDir = x.nodeDir(i, master);
        const b = await backupOf(x, x.state.backupId);
        // A crash after the data was set aside lets the supervisor start an empty server: stop it.
        await x.processes.stopNode(i, master.name);
        for (const f of DATA_FILES) fs.rmSync(path.join(nodeDir, f), { recursive: true, force: true });
        await installAsAof(nodeDir, path.join(backupDirOf(x.dataDir, i.id, b.id), b.fileName!), b.format);
        await writeRestore(x, { progress: 60 });
        try {
          await x.processes.startNode(i, master);
        } catch (e) {
          if (e instanceof LeaseLost) throw e;
          throw new StepFailure('dcs.08.0007', `Redis could not load the backup: ${(e as Error).message}`);
        }
      },
    },
    {
      name: 'Check that Redis serves the restored data',
      run: async (x) => {
        const i = await x.instance();
        if (!(await ping(x.target(i)))) throw new StepFailure('dcs.08.0007', 'Redis does not answer after loading the backup.');
        // Redis drops keys whose expiry has passed only when it loads a plain RDB, not an AOF
        // base: the backup's expired keys would be counted (DBSIZE, INFO keyspace) and hold memory
        // until active expiry found them. A SCAN releases each one it visits (records.md §2).
        await walkKeyspace(x.target(i), { count: 1000, signal: x.signal, scanOnly: true });
      },
    },
  ],
  onSuccess: async (x) => {
    const i = await x.instance();
    const master = masterOf(i);
    fs.rmSync(asideOf(x.nodeDir(i, master), x.taskId), { recursive: true, force: true });
    await x.save(i, { status: 'RUNNING' });
    await writeRestore(x, { status: 'succeed', progress: 100, errorCode: null });
  },
  onFailure: async (x) => {
    const i = await x.instance().catch(() => null);
    let where: string | undefined;
    if (i) {
      const master = masterOf(i);
      const nodeDir = x.nodeDir(i, master);
      if (fs.existsSync(asideOf(nodeDir, x.taskId)) || fs.existsSync(`${asideOf(nodeDir, x.taskId)}.tmp`)) {
        await x.processes.stopNode(i, master.name);
        putBack(nodeDir, asideOf(nodeDir, x.taskId));
        await x.processes.startNode(i, master).catch(() => undefined);
      }
      where = await x.settle(await x.instance());
    }
    await writeRestore(x, { status: 'failed', errorCode: 'dcs.08.0007' });
    return where ? `The previous data was put back. ${where}` : undefined;
  },
};

export default {
  operations: [backupOperation, restoreOperation],
  endpoints: [],
} satisfies OperationModule;
