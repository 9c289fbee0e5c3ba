/**
 * The SQLite store as the event loop sees it: every method posts a call to a SQLite thread
 * (worker.ts) — reads to the reader (whole-table counts to a reader of their own), everything
 * else to the writer — which runs the real SqliteStore and answers. Calls made in one event-loop
 * turn go in one message, answers come back the same way. Nothing SQLite does — a deep list, a
 * commit and its fsync — blocks the event loop, and reads and writes do not wait for each other.
 */
import { Worker } from 'node:worker_threads';
import { SqliteStore } from '../sqlite.js';
import { SqliteMigrations } from './migrations.js';
import { SqliteRecords } from './records.js';
import { fromWire, type Call, type Reply } from './wire.js';
import type { ThreadRole } from './worker.js';
import type { MigrationStore, RecordStore, Store } from '../types.js';

const WORKER = new URL('./worker.js', import.meta.url);

class SqliteThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private outbox: Call[] = [];
  private nextId = 1;
  private dead: Error | null = null;

  constructor(file: string, role: ThreadRole) {
    this.worker = new Worker(WORKER, { workerData: { file, role } });
    this.worker.unref(); // held only while calls are pending (see call)
    this.worker.on('message', (replies: Reply[]) => this.settle(replies));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`the SQLite thread exited (code ${code})`)));
  }

  get alive(): boolean {
    return this.dead === null;
  }

  call(method: string, args: unknown[]): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      if (this.outbox.push({ id, method, args }) === 1) setImmediate(() => this.post());
    });
  }

  /** Ends the thread once the store in it is closed. */
  async close(): Promise<void> {
    if (this.dead) return;
    await this.call('close', []);
    this.dead = new Error('store is closed');
    await this.worker.terminate();
  }

  private post(): void {
    const calls = this.outbox;
    this.outbox = [];
    if (this.dead) for (const c of calls) this.take(c.id)?.reject(this.dead);
    else this.worker.postMessage(calls);
  }

  private settle(replies: Reply[]): void {
    for (const r of replies) {
      const p = this.take(r.id);
      if (!p) continue;
      if (r.ok) p.resolve(r.value);
      else p.reject(fromWire(r.error));
    }
  }

  private take(id: number) {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (p && this.pending.size === 0) this.worker.unref();
    return p;
  }

  private fail(e: Error): void {
    this.dead ??= e;
    for (const [id] of this.pending) this.take(id)?.reject(e);
  }
}

/**
 * The methods that only read: they go to the reader thread. (A write sent there by mistake would
 * still be correct — SQLite's lock orders it — only outside the writer's group commit.)
 */
const READS = new Set([
  'getInstance', 'getInstanceById', 'listInstances', 'listAllInstances', 'getTask', 'activeTasks', 'listTasks', 'listAudit',
  'recentDurations', 'countTasksByStatus', 'getToken', 'listAuditPage',
  'records.getBackup', 'records.listBackups', 'records.getRestore', 'records.listRestores', 'records.getScan', 'records.listScans',
  'records.getAutoscanConfig', 'records.listAutoscanConfigs',
  'migrations.getMigration', 'migrations.getMigrationById', 'migrations.listMigrations', 'migrations.latestErrors', 'migrations.listLogs',
]);

/**
 * Reads that walk a whole index however many tasks there are (a /metrics scrape's counts by
 * status: ~170 ms at a million tasks). They run on a reader of their own, started on first use,
 * so that no list or lookup queues behind one.
 */
const WHOLE_TABLE_READS = new Set(['countTasksByStatus']);

/**
 * The threads of one store. The reader starts once the writer has migrated the schema, and
 * takes the reads once it has answered a first call: until then the writer answers them, so the
 * service's start does not wait for a second thread to boot.
 */
class SqliteThreads {
  private readonly writer: SqliteThread;
  private starting: SqliteThread | null = null;
  private reader: SqliteThread | null = null;
  private wholeTableReader: SqliteThread | null = null;

  constructor(private readonly file: string) {
    this.writer = new SqliteThread(file, 'writer');
  }

  call(method: string, args: unknown[]): Promise<unknown> {
    if (WHOLE_TABLE_READS.has(method) && this.writer.alive) {
      if (!this.wholeTableReader?.alive) this.wholeTableReader = new SqliteThread(this.file, 'reader');
      return this.wholeTableReader.call(method, args);
    }
    // A reader that died (it never should) leaves its reads to the writer rather than failing them.
    const reader = this.reader?.alive ? this.reader : null;
    return (reader && READS.has(method) ? reader : this.writer).call(method, args);
  }

  async migrate(): Promise<void> {
    await this.writer.call('migrate', []);
    if (this.starting) return;
    const reader = (this.starting = new SqliteThread(this.file, 'reader'));
    reader.call('ping', []).then(() => (this.reader = reader), () => {});
  }

  async close(): Promise<void> {
    await this.wholeTableReader?.close();
    await this.starting?.close();
    await this.writer.close();
  }
}

/** An object with every method of `proto`, each forwarding to the threads under `prefix`. */
function forwarding<T>(threads: SqliteThreads, proto: object, prefix: string): T {
  const out: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === 'constructor' || typeof (proto as Record<string, unknown>)[name] !== 'function') continue;
    out[name] = (...args: unknown[]) => threads.call(prefix + name, args);
  }
  return out as T;
}

/** A Store whose SQLite work runs on threads of its own. */
export function sqliteStoreOnThread(file: string): Store {
  const threads = new SqliteThreads(file);
  return {
    ...forwarding<Store>(threads, SqliteStore.prototype, ''),
    kind: 'sqlite',
    nodes: null,
    sharedCredentials: null,
    records: forwarding<RecordStore>(threads, SqliteRecords.prototype, 'records.'),
    migrations: forwarding<MigrationStore>(threads, SqliteMigrations.prototype, 'migrations.'),
    migrate: () => threads.migrate(),
    // One process per data directory: its own TaskService wakes its engine.
    listen: async () => {},
    close: () => threads.close(),
  };
}
