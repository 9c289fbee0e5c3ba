/**
 * SQLite store (better-sqlite3, WAL). Every write goes through a group commit: writes queued in
 * the same event-loop turn share one transaction and one fsync (synchronous=FULL), each in its
 * own savepoint so one failing write does not undo its neighbours. A promise resolves only after
 * the commit, so "200 sent" always means "on disk".
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { SQLITE_MIGRATIONS } from './sqlite-schema.js';
import {
  INSTANCE_COLUMNS, auditFromRow, groupSteps, instanceFromRow, instancePatchColumns, instanceValues, taskFromRow,
} from './rows.js';
import type { AuditRecord, Deleter, NewTask, TaskRecord } from '../tasks/records.js';
import type { CreateTaskOutcome, DeleteOutcome, StepUpdate, Store, TaskQuery } from './types.js';
import type { InstancePatch, InstanceRecord } from '../instances/records.js';
import type { TokenRecord } from '../auth/records.js';

type Row = Record<string, unknown>;
interface Pending { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }

const ACTIVE = `status IN ('CREATED','WAITING','EXECUTING')`;

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private queue: Pending[] = [];
  private closed = false;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => Number(r.version)));
    for (const m of SQLITE_MIGRATIONS) {
      if (done.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
      }).immediate();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.queue.length) this.flush();
    this.closed = true;
    this.db.close();
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** Prepared statements are compiled once: preparing per call costs more than running them. */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  private write<T>(fn: () => T): Promise<T> {
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
          try {
            results.push({ ok: true, v: this.db.transaction(item.fn)() });
          } catch (e) {
            results.push({ ok: false, e });
          }
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

  // ---- instances ----

  async insertInstance(i: InstanceRecord): Promise<void> {
    const sql = `INSERT INTO instances (${INSTANCE_COLUMNS.join(',')}) VALUES (${INSTANCE_COLUMNS.map(() => '?').join(',')})`;
    await this.write(() => this.stmt(sql).run(...instanceValues(i, true)));
  }

  async getInstance(projectId: string, id: string): Promise<InstanceRecord | null> {
    const r = this.stmt('SELECT * FROM instances WHERE id = ? AND project_id = ?').get(id, projectId) as Row | undefined;
    return r ? instanceFromRow(r) : null;
  }

  async getInstanceById(id: string): Promise<InstanceRecord | null> {
    const r = this.stmt('SELECT * FROM instances WHERE id = ?').get(id) as Row | undefined;
    return r ? instanceFromRow(r) : null;
  }

  async listInstances(projectId: string): Promise<InstanceRecord[]> {
    const rows = this.stmt('SELECT * FROM instances WHERE project_id = ? ORDER BY created_at DESC, id DESC').all(projectId) as Row[];
    return rows.map(instanceFromRow);
  }

  async listAllInstances(): Promise<InstanceRecord[]> {
    return (this.stmt('SELECT * FROM instances ORDER BY created_at').all() as Row[]).map(instanceFromRow);
  }

  async updateInstance(id: string, patch: InstancePatch): Promise<void> {
    await this.write(() => this.patchInstance(id, patch));
  }

  private patchInstance(id: string, patch: InstancePatch): void {
    const cols = instancePatchColumns({ ...patch, updatedAt: patch.updatedAt ?? Date.now() }, true);
    const sql = `UPDATE instances SET ${cols.map(([c]) => `${c} = ?`).join(', ')} WHERE id = ?`;
    this.stmt(sql).run(...cols.map(([, v]) => v), id);
  }

  async deleteInstance(projectId: string, id: string): Promise<'deleted' | 'not_found' | 'busy'> {
    return this.write(() => {
      const exists = this.stmt('SELECT 1 FROM instances WHERE id = ? AND project_id = ?').get(id, projectId);
      if (!exists) return 'not_found' as const;
      if (this.stmt(`SELECT 1 FROM tasks WHERE instance_id = ? AND ${ACTIVE}`).get(id)) return 'busy' as const;
      this.stmt('DELETE FROM instances WHERE id = ?').run(id);
      return 'deleted' as const;
    });
  }

  // ---- tasks ----

  private stepsOf(ids: string[]) {
    if (ids.length === 0) return new Map();
    const rows = this.db
      .prepare(`SELECT * FROM task_steps WHERE task_id IN (${ids.map(() => '?').join(',')}) ORDER BY task_id, idx`)
      .all(...ids) as Row[];
    return groupSteps(rows);
  }

  private taskById(id: string): TaskRecord | null {
    const r = this.stmt('SELECT * FROM tasks WHERE id = ?').get(id) as Row | undefined;
    return r ? taskFromRow(r, this.stepsOf([id]).get(id) ?? []) : null;
  }

  async createTask(t: NewTask, instancePatch?: InstancePatch): Promise<CreateTaskOutcome> {
    return this.write(() => {
      const active = this.stmt(`SELECT id FROM tasks WHERE instance_id = ? AND ${ACTIVE}`).get(t.instanceId) as Row | undefined;
      if (active) return { ok: false as const, activeTask: this.taskById(String(active.id))! };
      this.stmt(
        `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'CREATED', ?, ?, ?)`,
      ).run(t.id, t.projectId, t.instanceId, t.instanceName, t.name, JSON.stringify(t.details), t.userId, t.userName,
        t.params, JSON.stringify(t.state), t.createdAt, t.createdAt);
      const step = this.stmt(`INSERT INTO task_steps (task_id, idx, name, status) VALUES (?, ?, ?, 'WAITING')`);
      t.steps.forEach((name, i) => step.run(t.id, i, name));
      if (instancePatch) this.patchInstance(t.instanceId, instancePatch);
      return { ok: true as const, task: this.taskById(t.id)! };
    });
  }

  async getTask(projectId: string, id: string): Promise<TaskRecord | null> {
    const t = this.taskById(id);
    return t && t.projectId === projectId ? t : null;
  }

  async listTasks(q: TaskQuery): Promise<{ total: number; tasks: TaskRecord[] }> {
    const where = ['project_id = ?'];
    const args: unknown[] = [q.projectId];
    if (q.instanceId) { where.push('instance_id = ?'); args.push(q.instanceId); }
    if (q.from !== undefined) { where.push('created_at >= ?'); args.push(q.from); }
    if (q.to !== undefined) { where.push('created_at <= ?'); args.push(q.to); }
    const w = where.join(' AND ');
    const total = Number((this.stmt(`SELECT COUNT(*) AS n FROM tasks WHERE ${w}`).get(...args) as Row).n);
    const rows = this.db
      .prepare(`SELECT * FROM tasks WHERE ${w} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...args, q.limit, q.offset) as Row[];
    const steps = this.stepsOf(rows.map((r) => String(r.id)));
    return { total, tasks: rows.map((r) => taskFromRow(r, steps.get(String(r.id)) ?? [])) };
  }

  async deleteFinishedTask(projectId: string, id: string, instanceId: string | null, by: Deleter): Promise<DeleteOutcome> {
    return this.write(() => {
      const r = this.stmt('SELECT * FROM tasks WHERE id = ? AND project_id = ?').get(id, projectId) as Row | undefined;
      if (!r || (instanceId !== null && r.instance_id !== instanceId)) return 'not_found' as const;
      if (r.status !== 'SUCCESS' && r.status !== 'FAILED') return 'running' as const;
      this.audit(r, by, Date.now());
      this.stmt('DELETE FROM tasks WHERE id = ?').run(id);
      return 'deleted' as const;
    });
  }

  private audit(r: Row, by: Deleter, at: number): void {
    this.stmt(
      `INSERT INTO task_audit (project_id, task_id, instance_id, task_name, last_status, actor_id, actor_name, message, deleted_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(r.project_id, r.id, r.instance_id, r.name, r.status, by.userId, by.userName, by.message, at);
  }

  async listAudit(projectId: string): Promise<AuditRecord[]> {
    return (this.stmt('SELECT * FROM task_audit WHERE project_id = ? ORDER BY id').all(projectId) as Row[]).map(auditFromRow);
  }

  // ---- engine ----

  async claimTask(owner: string, leaseMs: number, now: number, nodeId?: string): Promise<TaskRecord | null> {
    return this.write(() => {
      const r = this.stmt(
        `SELECT t.id FROM tasks t LEFT JOIN instances i ON i.id = t.instance_id
         WHERE (t.status = 'CREATED' OR (t.status IN ('WAITING','EXECUTING') AND (t.lease_expires_at IS NULL OR t.lease_expires_at < ?)))
           AND (? IS NULL OR i.id IS NULL OR i.managed = 0 OR i.owner_node IS NULL OR i.owner_node = ?)
         ORDER BY t.created_at, t.id LIMIT 1`,
      ).get(now, nodeId ?? null, nodeId ?? null) as Row | undefined;
      if (!r) return null;
      this.stmt(
        `UPDATE tasks SET status = 'EXECUTING', lease_owner = ?, lease_expires_at = ?, started_at = COALESCE(started_at, ?),
         attempts = attempts + 1, updated_at = ? WHERE id = ?`,
      ).run(owner, now + leaseMs, now, now, r.id);
      return this.taskById(String(r.id));
    });
  }

  /** Single-node SQLite only: at start-up every lease belongs to a process that is gone. */
  async expireAllLeases(): Promise<number> {
    return this.write(() => this.stmt(`UPDATE tasks SET lease_expires_at = 0 WHERE ${ACTIVE} AND lease_owner IS NOT NULL`).run().changes);
  }

  async renewLease(id: string, owner: string, leaseMs: number, now: number): Promise<boolean> {
    return this.write(() => this.stmt(
      `UPDATE tasks SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? AND status = 'EXECUTING'`,
    ).run(now + leaseMs, id, owner).changes === 1);
  }

  private ownsTask(id: string, owner: string): boolean {
    return !!this.stmt(`SELECT 1 FROM tasks WHERE id = ? AND lease_owner = ? AND status = 'EXECUTING'`).get(id, owner);
  }

  async updateStep(id: string, owner: string, index: number, u: StepUpdate, now: number): Promise<boolean> {
    return this.write(() => {
      if (!this.ownsTask(id, owner)) return false;
      const cur = this.stmt('SELECT * FROM task_steps WHERE task_id = ? AND idx = ?').get(id, index) as Row;
      this.stmt('UPDATE task_steps SET status = ?, begin_at = ?, end_at = ?, error_code = ? WHERE task_id = ? AND idx = ?').run(
        u.status,
        u.beginAt !== undefined ? u.beginAt : cur.begin_at,
        u.endAt !== undefined ? u.endAt : cur.end_at,
        u.errorCode !== undefined ? u.errorCode : cur.error_code,
        id, index,
      );
      this.stmt('UPDATE tasks SET updated_at = ? WHERE id = ?').run(now, id);
      return true;
    });
  }

  async updateTaskState(id: string, owner: string, patch: { state?: Record<string, unknown>; details?: Record<string, unknown> }, now: number): Promise<boolean> {
    return this.write(() => {
      if (!this.ownsTask(id, owner)) return false;
      if (patch.state) this.stmt('UPDATE tasks SET state = ? WHERE id = ?').run(JSON.stringify(patch.state), id);
      if (patch.details) this.stmt('UPDATE tasks SET details = ? WHERE id = ?').run(JSON.stringify(patch.details), id);
      this.stmt('UPDATE tasks SET updated_at = ? WHERE id = ?').run(now, id);
      return true;
    });
  }

  async finishTask(id: string, owner: string, status: 'SUCCESS' | 'FAILED', errorCode: string | null, failReason: string | null, now: number): Promise<boolean> {
    return this.write(() => this.stmt(
      `UPDATE tasks SET status = ?, error_code = ?, fail_reason = ?, finished_at = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL
       WHERE id = ? AND lease_owner = ? AND status = 'EXECUTING'`,
    ).run(status, errorCode, failReason, now, now, id, owner).changes === 1);
  }

  async recentDurations(name: string, limit: number): Promise<number[]> {
    const rows = this.stmt(
      `SELECT finished_at - started_at AS d FROM tasks WHERE name = ? AND status = 'SUCCESS' AND started_at IS NOT NULL
       ORDER BY finished_at DESC LIMIT ?`,
    ).all(name, limit) as Row[];
    return rows.map((r) => Number(r.d));
  }

  async purgeFinishedBefore(before: number, by: Deleter): Promise<number> {
    return this.write(() => {
      const rows = this.stmt(`SELECT * FROM tasks WHERE status IN ('SUCCESS','FAILED') AND finished_at < ?`).all(before) as Row[];
      const now = Date.now();
      for (const r of rows) {
        this.audit(r, by, now);
        this.stmt('DELETE FROM tasks WHERE id = ?').run(r.id);
      }
      return rows.length;
    });
  }

  async countTasksByStatus(): Promise<Record<string, number>> {
    const rows = this.stmt('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status').all() as Row[];
    return Object.fromEntries(rows.map((r) => [String(r.status), Number(r.n)]));
  }

  // ---- credentials and tokens ----

  async recordCredentialUse(accessKey: string, at: number): Promise<void> {
    await this.write(() => this.stmt(
      `INSERT INTO credential_use (access_key, last_used_at, use_count) VALUES (?, ?, 1)
       ON CONFLICT(access_key) DO UPDATE SET last_used_at = excluded.last_used_at, use_count = use_count + 1`,
    ).run(accessKey, at));
  }

  async insertToken(t: TokenRecord): Promise<void> {
    await this.write(() => this.stmt('INSERT INTO tokens (hash, access_key, expires_at, created_at) VALUES (?, ?, ?, ?)')
      .run(t.hash, t.accessKey, t.expiresAt, t.createdAt));
  }

  async getToken(hash: string): Promise<TokenRecord | null> {
    const r = this.stmt('SELECT * FROM tokens WHERE hash = ?').get(hash) as Row | undefined;
    return r ? { hash: String(r.hash), accessKey: String(r.access_key), expiresAt: Number(r.expires_at), createdAt: Number(r.created_at) } : null;
  }

  async listAuditPage(projectId: string, offset: number, limit: number): Promise<{ total: number; records: AuditRecord[] }> {
    const { n } = this.stmt('SELECT count(*) AS n FROM task_audit WHERE project_id = ?').get(projectId) as { n: number };
    const rows = this.stmt('SELECT * FROM task_audit WHERE project_id = ? ORDER BY id DESC LIMIT ? OFFSET ?').all(projectId, limit, offset) as Row[];
    return { total: n, records: rows.map(auditFromRow) };
  }
}
