/**
 * The SQLite store as the event loop sees it: every method posts a call to the SQLite thread
 * (worker.ts), which runs the real SqliteStore and answers. Calls made in one event-loop turn go
 * in one message, answers come back the same way. Nothing SQLite does — a deep list, a commit
 * and its fsync — blocks the event loop any more.
 */
import { Worker } from 'node:worker_threads';
import { SqliteStore } from '../sqlite.js';
import { SqliteMigrations } from './migrations.js';
import { SqliteRecords } from './records.js';
import { fromWire, type Call, type Reply } from './wire.js';
import type { MigrationStore, RecordStore, Store } from '../types.js';

const WORKER = new URL('./worker.js', import.meta.url);

class SqliteThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private outbox: Call[] = [];
  private nextId = 1;
  private dead: Error | null = null;

  constructor(file: string) {
    this.worker = new Worker(WORKER, { workerData: { file } });
    this.worker.unref(); // held only while calls are pending (see call)
    this.worker.on('message', (replies: Reply[]) => this.settle(replies));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`the SQLite thread exited (code ${code})`)));
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

/** An object with every method of `proto`, each forwarding to the thread under `prefix`. */
function forwarding<T>(thread: SqliteThread, proto: object, prefix: string): T {
  const out: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === 'constructor' || typeof (proto as Record<string, unknown>)[name] !== 'function') continue;
    out[name] = (...args: unknown[]) => thread.call(prefix + name, args);
  }
  return out as T;
}

/** A Store whose SQLite work runs on a thread of its own. */
export function sqliteStoreOnThread(file: string): Store {
  const thread = new SqliteThread(file);
  return {
    ...forwarding<Store>(thread, SqliteStore.prototype, ''),
    kind: 'sqlite',
    nodes: null,
    sharedCredentials: null,
    records: forwarding<RecordStore>(thread, SqliteRecords.prototype, 'records.'),
    migrations: forwarding<MigrationStore>(thread, SqliteMigrations.prototype, 'migrations.'),
    // One process per data directory: its own TaskService wakes its engine.
    listen: async () => {},
    close: () => thread.close(),
  };
}
