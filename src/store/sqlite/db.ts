/**
 * The SQLite connection (better-sqlite3, WAL) and its group commit: writes queued in the same
 * event-loop turn share one IMMEDIATE transaction and one fsync (synchronous=FULL), each in its
 * own savepoint so one failing write does not undo its neighbours. A promise resolves only after
 * the commit, so "200 sent" always means "on disk". Inside a write nothing else can interleave:
 * a check and the write it guards, in one write, are atomic.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { migrationsFor } from '../schema.js';
import * as plans from './plans.js';
import { makeDirs } from '../../make-dirs.js';

type Row = Record<string, unknown>;
interface Pending { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }

export class SqliteDb {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private queue: Pending[] = [];
  private closed = false;

  constructor(file: string) {
    makeDirs(path.dirname(path.resolve(file)));
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    // Statement journals (a savepoint per queued write, statements that fire the counter
    // triggers) go to memory: as temporary files they cost a file create and write per
    // statement, which made a delete four times slower. They never need to survive a crash.
    this.db.pragma('temp_store = MEMORY');
  }

  migrate(): void {
    this.db.exec(plans.createMigrationsTable);
    const done = new Set(this.all(plans.appliedMigrations).map((r) => Number(r.version)));
    for (const m of migrationsFor('sqlite')) {
      if (done.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.run(plans.recordMigration, m.version, Date.now());
      }).immediate();
    }
  }

  close(): void {
    if (this.closed) return;
    if (this.queue.length) this.flush();
    this.closed = true;
    this.db.close();
  }

  /** Prepared statements are compiled once: preparing per call costs more than running them. */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  get(sql: string, ...args: unknown[]): Row | undefined {
    return this.stmt(sql).get(...args) as Row | undefined;
  }

  all(sql: string, ...args: unknown[]): Row[] {
    return this.stmt(sql).all(...args) as Row[];
  }

  /** Runs a statement; the number of rows it changed. */
  run(sql: string, ...args: unknown[]): number {
    return this.stmt(sql).run(...args).changes;
  }

  /** Queues `fn` for the next group commit; resolves with its result once it is on disk. */
  write<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const results: ({ ok: true; v: unknown } | { ok: false; e: unknown })[] = [];
    try {
      this.db.transaction(() => {
        for (const item of batch) {
          this.run(plans.savepoint);
          try {
            results.push({ ok: true, v: item.fn() });
          } catch (e) {
            this.run(plans.rollbackToSavepoint);
            results.push({ ok: false, e });
          }
          this.run(plans.releaseSavepoint);
        }
      }).immediate();
    } catch (e) {
      for (const item of batch) item.reject(e);
      return;
    }
    batch.forEach((item, i) => {
      const r = results[i];
      if (r.ok) item.resolve(r.v);
      else item.reject(r.e);
    });
  }
}
