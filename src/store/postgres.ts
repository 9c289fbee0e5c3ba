/**
 * PostgreSQL store: the same behaviour as the SQLite store, for several service nodes sharing
 * one database. Exactly-once comes from the database, not from the nodes: one unfinished task
 * per instance is a partial unique index, claims use FOR UPDATE SKIP LOCKED, a delete is one
 * DELETE … RETURNING with its audit row in the same transaction. LISTEN/NOTIFY tells other
 * nodes at once that a task was created. Every call is bounded by connect and statement
 * timeouts, so an outage turns into errors, never hangs; the pool recovers by itself.
 */
import pg from 'pg';
import { POSTGRES_MIGRATIONS } from './postgres-schema.js';
import {
  INSTANCE_COLUMNS, auditFromRow, groupSteps, instanceFromRow, instancePatchColumns, instanceValues, taskFromRow,
} from './rows.js';
import { StoreUnavailable, type CreateTaskOutcome, type DeleteOutcome, type StepUpdate, type Store, type TaskQuery } from './types.js';
import type { AuditRecord, Deleter, NewTask, TaskRecord } from '../tasks/records.js';
import type { CredentialRecord, TokenRecord } from '../auth/records.js';
import type { InstancePatch, InstanceRecord } from '../instances/records.js';

type Row = Record<string, unknown>;
type Db = pg.Pool | pg.PoolClient;

const ACTIVE = `status IN ('CREATED','WAITING','EXECUTING')`;
const CHANNEL = 'dcs_tasks';

export interface PostgresOptions {
  schema?: string;
  poolSize?: number;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/** Splits `?schema=NAME` off a postgres:// URL (pg itself does not know it). */
export function parsePostgresUrl(url: string): { url: string; schema: string | null } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name "${schema}" in the database URL`);
  return { url: u.toString(), schema };
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly config: pg.ClientConfig;
  private listener: pg.Client | null = null;
  private closed = false;

  constructor(url: string, o: PostgresOptions = {}) {
    const parsed = parsePostgresUrl(url);
    this.schema = o.schema ?? parsed.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.schema)) throw new Error(`invalid schema name "${this.schema}"`);
    const timeout = o.statementTimeoutMs ?? 5000;
    this.config = {
      connectionString: parsed.url,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 3000,
      statement_timeout: timeout,
      query_timeout: timeout + 1000,
      options: `-c search_path=${this.schema}`,
    };
    this.pool = new pg.Pool({ ...this.config, max: o.poolSize ?? 10, idleTimeoutMillis: 10_000 });
    // An idle connection dropped by a database restart must not crash the process.
    this.pool.on('error', () => {});
  }

  private async run(sql: string, args: unknown[] = [], db: Db = this.pool): Promise<pg.QueryResult> {
    try {
      return await db.query(sql, args);
    } catch (e) {
      throw unavailableOr(e);
    }
  }

  private async q(sql: string, args: unknown[] = [], db: Db = this.pool): Promise<Row[]> {
    return (await this.run(sql, args, db)).rows as Row[];
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect().catch((e: unknown) => { throw unavailableOr(e); });
    // The pool listens for errors only on idle clients: a connection dropped while this one is
    // checked out would otherwise be an unhandled 'error' event and end the process.
    let broken = false;
    const onError = () => { broken = true; };
    c.on('error', onError);
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      if (!broken) await c.query('ROLLBACK').catch(() => { broken = true; });
      throw unavailableOr(e);
    } finally {
      c.off('error', onError);
      c.release(broken || undefined);
    }
  }

  async migrate(): Promise<void> {
    await this.tx(async (c) => {
      // Several nodes may start at once: one applies the migrations, the others wait and find them done.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`dcs-tasks:${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const done = new Set((await this.q('SELECT version FROM schema_migrations', [], c)).map((r) => Number(r.version)));
      for (const m of POSTGRES_MIGRATIONS) {
        if (done.has(m.version)) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, Date.now()]);
      }
    });
  }

  /** Calls `onTaskCreated` whenever any node creates a task (LISTEN/NOTIFY), reconnecting after drops. */
  async listen(onTaskCreated: () => void): Promise<void> {
    const connect = async (): Promise<void> => {
      if (this.closed) return;
      const client = new pg.Client(this.config);
      client.on('error', () => {});
      client.on('notification', () => onTaskCreated());
      client.on('end', () => {
        if (this.listener === client) this.listener = null;
        if (!this.closed) setTimeout(() => void connect().catch(() => {}), 1000).unref();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
        this.listener = client;
        onTaskCreated(); // catch up on anything created while we were not listening
      } catch {
        await client.end().catch(() => {});
      }
    };
    await connect();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener?.end().catch(() => {});
    await this.pool.end();
  }

  // ---- instances ----

  async insertInstance(i: InstanceRecord): Promise<void> {
    const sql = `INSERT INTO instances (${INSTANCE_COLUMNS.join(',')}) VALUES (${INSTANCE_COLUMNS.map((_, k) => `$${k + 1}`).join(',')})`;
    await this.q(sql, instanceValues(i, false));
  }

  async getInstance(projectId: string, id: string): Promise<InstanceRecord | null> {
    const [r] = await this.q('SELECT * FROM instances WHERE id = $1 AND project_id = $2', [id, projectId]);
    return r ? instanceFromRow(r) : null;
  }

  async getInstanceById(id: string): Promise<InstanceRecord | null> {
    const [r] = await this.q('SELECT * FROM instances WHERE id = $1', [id]);
    return r ? instanceFromRow(r) : null;
  }

  async listInstances(projectId: string): Promise<InstanceRecord[]> {
    return (await this.q('SELECT * FROM instances WHERE project_id = $1 ORDER BY created_at DESC, id DESC', [projectId])).map(instanceFromRow);
  }

  async listAllInstances(): Promise<InstanceRecord[]> {
    return (await this.q('SELECT * FROM instances ORDER BY created_at')).map(instanceFromRow);
  }

  async updateInstance(id: string, patch: InstancePatch): Promise<void> {
    await this.patchInstance(this.pool, id, patch);
  }

  private async patchInstance(db: Db, id: string, patch: InstancePatch): Promise<void> {
    const cols = instancePatchColumns({ ...patch, updatedAt: patch.updatedAt ?? Date.now() }, false);
    const sql = `UPDATE instances SET ${cols.map(([c], k) => `${c} = $${k + 1}`).join(', ')} WHERE id = $${cols.length + 1}`;
    await this.q(sql, [...cols.map(([, v]) => v), id], db);
  }

  async deleteInstance(projectId: string, id: string): Promise<'deleted' | 'not_found' | 'busy'> {
    return this.tx(async (c) => {
      const [inst] = await this.q('SELECT id FROM instances WHERE id = $1 AND project_id = $2 FOR UPDATE', [id, projectId], c);
      if (!inst) return 'not_found' as const;
      if ((await this.q(`SELECT 1 FROM tasks WHERE instance_id = $1 AND ${ACTIVE}`, [id], c)).length) return 'busy' as const;
      await c.query('DELETE FROM instances WHERE id = $1', [id]);
      return 'deleted' as const;
    });
  }

  // ---- tasks ----

  private async stepsOf(ids: string[], db: Db = this.pool) {
    if (ids.length === 0) return new Map();
    return groupSteps(await this.q('SELECT * FROM task_steps WHERE task_id = ANY($1) ORDER BY task_id, idx', [ids], db));
  }

  private async taskById(id: string, db: Db = this.pool): Promise<TaskRecord | null> {
    const [r] = await this.q('SELECT * FROM tasks WHERE id = $1', [id], db);
    return r ? taskFromRow(r, (await this.stepsOf([id], db)).get(id) ?? []) : null;
  }

  async createTask(t: NewTask, instancePatch?: InstancePatch): Promise<CreateTaskOutcome> {
    try {
      return await this.tx(async (c) => {
        await c.query(
          `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'CREATED', $10, $11, $11)`,
          [t.id, t.projectId, t.instanceId, t.instanceName, t.name, JSON.stringify(t.details), t.userId, t.userName, t.params, JSON.stringify(t.state), t.createdAt],
        );
        for (const [k, name] of t.steps.entries()) {
          await c.query(`INSERT INTO task_steps (task_id, idx, name, status) VALUES ($1, $2, $3, 'WAITING')`, [t.id, k, name]);
        }
        if (instancePatch) await this.patchInstance(c, t.instanceId, instancePatch);
        await c.query(`NOTIFY ${CHANNEL}`);
        return { ok: true as const, task: (await this.taskById(t.id, c))! };
      });
    } catch (e) {
      if ((e as { constraint?: string }).constraint !== 'tasks_one_active') throw e;
      const [active] = await this.q(`SELECT id FROM tasks WHERE instance_id = $1 AND ${ACTIVE}`, [t.instanceId]);
      const task = active && (await this.taskById(String(active.id)));
      if (!task) return this.createTask(t, instancePatch); // it finished in between: try again
      return { ok: false as const, activeTask: task };
    }
  }

  async getTask(projectId: string, id: string): Promise<TaskRecord | null> {
    const t = await this.taskById(id);
    return t && t.projectId === projectId ? t : null;
  }

  async listTasks(q: TaskQuery): Promise<{ total: number; tasks: TaskRecord[] }> {
    const where = ['project_id = $1'];
    const args: unknown[] = [q.projectId];
    if (q.instanceId) { args.push(q.instanceId); where.push(`instance_id = $${args.length}`); }
    if (q.from !== undefined) { args.push(q.from); where.push(`created_at >= $${args.length}`); }
    if (q.to !== undefined) { args.push(q.to); where.push(`created_at <= $${args.length}`); }
    const w = where.join(' AND ');
    const [{ n }] = await this.q(`SELECT COUNT(*) AS n FROM tasks WHERE ${w}`, args);
    const rows = await this.q(
      `SELECT * FROM tasks WHERE ${w} ORDER BY created_at DESC, id DESC LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
      [...args, q.limit, q.offset],
    );
    const steps = await this.stepsOf(rows.map((r) => String(r.id)));
    return { total: Number(n), tasks: rows.map((r) => taskFromRow(r, steps.get(String(r.id)) ?? [])) };
  }

  async deleteFinishedTask(projectId: string, id: string, instanceId: string | null, by: Deleter): Promise<DeleteOutcome> {
    // One statement, so one round trip and its own transaction: the task goes and its audit row
    // comes together, and of two concurrent deletes only one sees the row to delete.
    const [r] = await this.q(
      `WITH d AS (
         DELETE FROM tasks WHERE id = $1 AND project_id = $2 AND ($3::text IS NULL OR instance_id = $3) AND status IN ('SUCCESS','FAILED')
         RETURNING project_id, id, instance_id, name, status),
       a AS (
         INSERT INTO task_audit (project_id, task_id, instance_id, task_name, last_status, actor_id, actor_name, message, deleted_at)
         SELECT project_id, id, instance_id, name, status, $4, $5, $6, $7 FROM d RETURNING 1)
       SELECT (SELECT COUNT(*) FROM a) AS deleted`,
      [id, projectId, instanceId, by.userId, by.userName, by.message, Date.now()],
    );
    if (Number(r?.deleted) === 1) return 'deleted';
    const [still] = await this.q('SELECT 1 FROM tasks WHERE id = $1 AND project_id = $2 AND ($3::text IS NULL OR instance_id = $3)', [id, projectId, instanceId]);
    return still ? 'running' : 'not_found';
  }

  private async audit(db: Db, r: Row, by: Deleter, at: number): Promise<void> {
    await this.q(
      `INSERT INTO task_audit (project_id, task_id, instance_id, task_name, last_status, actor_id, actor_name, message, deleted_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [r.project_id, r.id, r.instance_id, r.name, r.status, by.userId, by.userName, by.message, at], db,
    );
  }

  async listAudit(projectId: string): Promise<AuditRecord[]> {
    return (await this.q('SELECT * FROM task_audit WHERE project_id = $1 ORDER BY id', [projectId])).map(auditFromRow);
  }

  // ---- engine ----

  async claimTask(owner: string, leaseMs: number, now: number, nodeId?: string): Promise<TaskRecord | null> {
    const [r] = await this.q(
      `UPDATE tasks SET status = 'EXECUTING', lease_owner = $1, lease_expires_at = $2, started_at = COALESCE(started_at, $3),
         attempts = attempts + 1, updated_at = $3
       WHERE id = (
         SELECT t.id FROM tasks t LEFT JOIN instances i ON i.id = t.instance_id
         WHERE (t.status = 'CREATED' OR (t.status IN ('WAITING','EXECUTING') AND (t.lease_expires_at IS NULL OR t.lease_expires_at < $3)))
           AND ($4::text IS NULL OR i.id IS NULL OR NOT i.managed OR i.owner_node IS NULL OR i.owner_node = $4)
         ORDER BY t.created_at, t.id LIMIT 1
         FOR UPDATE OF t SKIP LOCKED)
       RETURNING *`,
      [owner, now + leaseMs, now, nodeId ?? null],
    );
    return r ? taskFromRow(r, (await this.stepsOf([String(r.id)])).get(String(r.id)) ?? []) : null;
  }

  async renewLease(id: string, owner: string, leaseMs: number, now: number): Promise<boolean> {
    const res = await this.run(`UPDATE tasks SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = 'EXECUTING'`, [now + leaseMs, id, owner]);
    return res.rowCount === 1;
  }

  async updateStep(id: string, owner: string, index: number, u: StepUpdate, now: number): Promise<boolean> {
    return this.tx(async (c) => {
      const own = await this.q(`SELECT 1 FROM tasks WHERE id = $1 AND lease_owner = $2 AND status = 'EXECUTING' FOR UPDATE`, [id, owner], c);
      if (!own.length) return false;
      const sets: string[] = ['status = $3'];
      const args: unknown[] = [id, index, u.status];
      for (const [col, v] of [['begin_at', u.beginAt], ['end_at', u.endAt], ['error_code', u.errorCode]] as const) {
        if (v === undefined) continue;
        args.push(v);
        sets.push(`${col} = $${args.length}`);
      }
      await c.query(`UPDATE task_steps SET ${sets.join(', ')} WHERE task_id = $1 AND idx = $2`, args);
      await c.query('UPDATE tasks SET updated_at = $1 WHERE id = $2', [now, id]);
      return true;
    });
  }

  async updateTaskState(id: string, owner: string, patch: { state?: Record<string, unknown>; details?: Record<string, unknown> }, now: number): Promise<boolean> {
    const res = await this.run(
      `UPDATE tasks SET state = COALESCE($1, state), details = COALESCE($2, details), updated_at = $3
       WHERE id = $4 AND lease_owner = $5 AND status = 'EXECUTING'`,
      [patch.state ? JSON.stringify(patch.state) : null, patch.details ? JSON.stringify(patch.details) : null, now, id, owner],
    );
    return res.rowCount === 1;
  }

  async finishTask(id: string, owner: string, status: 'SUCCESS' | 'FAILED', errorCode: string | null, failReason: string | null, now: number): Promise<boolean> {
    const res = await this.run(
      `UPDATE tasks SET status = $1, error_code = $2, fail_reason = $3, finished_at = $4, updated_at = $4, lease_owner = NULL, lease_expires_at = NULL
       WHERE id = $5 AND lease_owner = $6 AND status = 'EXECUTING'`,
      [status, errorCode, failReason, now, id, owner],
    );
    return res.rowCount === 1;
  }

  async heartbeatNode(node: string, now: number): Promise<void> {
    await this.q(
      `INSERT INTO service_nodes (node, started_at, heartbeat_at) VALUES ($1, $2, $2)
       ON CONFLICT (node) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at`,
      [node, now],
    );
  }

  async nodeHeartbeats(): Promise<Map<string, number>> {
    const rows = await this.q('SELECT node, heartbeat_at FROM service_nodes');
    return new Map(rows.map((r) => [String(r.node), Number(r.heartbeat_at)]));
  }

  async failOrphanedTasks(staleBefore: number, now: number): Promise<string[]> {
    return this.tx(async (c) => {
      const orphans = await this.q(
        `SELECT t.id, i.owner_node,
           (SELECT s.name FROM task_steps s WHERE s.task_id = t.id AND s.status = 'FINISH' ORDER BY s.idx DESC LIMIT 1) AS last_step
         FROM tasks t JOIN instances i ON i.id = t.instance_id
         LEFT JOIN service_nodes n ON n.node = i.owner_node
         WHERE t.${ACTIVE} AND i.managed AND i.owner_node IS NOT NULL
           AND (t.lease_expires_at IS NULL OR t.lease_expires_at < $1)
           AND (n.heartbeat_at IS NULL OR n.heartbeat_at < $2)
         FOR UPDATE OF t SKIP LOCKED`,
        [now, staleBefore],
        c,
      );
      for (const o of orphans) {
        const where = o.last_step ? `after its step ${String(o.last_step)} had finished` : 'before any of its steps had finished';
        const reason = `The service node ${String(o.owner_node)} that supervises this instance stopped (no heartbeat); ` +
          `the task was stopped ${where}, and the instance was left as that step left it.`;
        await this.q(
          `UPDATE task_steps SET status = 'FAILED', end_at = $2, error_code = 'DCS.5000' WHERE task_id = $1 AND status = 'EXECUTING'`,
          [o.id, now],
          c,
        );
        await this.q(
          `UPDATE tasks SET status = 'FAILED', error_code = 'DCS.5000', fail_reason = $2, finished_at = $3, updated_at = $3,
             lease_owner = NULL, lease_expires_at = NULL WHERE id = $1`,
          [o.id, reason, now],
          c,
        );
      }
      return orphans.map((o) => String(o.id));
    });
  }

  async recentDurations(name: string, limit: number): Promise<number[]> {
    const rows = await this.q(
      `SELECT finished_at - started_at AS d FROM tasks WHERE name = $1 AND status = 'SUCCESS' AND started_at IS NOT NULL
       ORDER BY finished_at DESC LIMIT $2`,
      [name, limit],
    );
    return rows.map((r) => Number(r.d));
  }

  async purgeFinishedBefore(before: number, by: Deleter): Promise<number> {
    return this.tx(async (c) => {
      const rows = await this.q(`DELETE FROM tasks WHERE status IN ('SUCCESS','FAILED') AND finished_at < $1 RETURNING *`, [before], c);
      const now = Date.now();
      for (const r of rows) await this.audit(c, r, by, now);
      return rows.length;
    });
  }

  async countTasksByStatus(): Promise<Record<string, number>> {
    const rows = await this.q('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status');
    return Object.fromEntries(rows.map((r) => [String(r.status), Number(r.n)]));
  }

  // ---- credentials and tokens ----

  async recordCredentialUse(accessKey: string, at: number): Promise<void> {
    await this.q(
      `INSERT INTO credential_use (access_key, last_used_at, use_count) VALUES ($1, $2, 1)
       ON CONFLICT (access_key) DO UPDATE SET last_used_at = EXCLUDED.last_used_at, use_count = credential_use.use_count + 1`,
      [accessKey, at],
    );
  }

  async publishCredentials(node: string, credentials: CredentialRecord[]): Promise<void> {
    await this.tx(async (c) => {
      await this.q('DELETE FROM credentials WHERE node = $1', [node], c);
      const now = Date.now();
      for (const k of credentials) {
        await this.q(
          `INSERT INTO credentials (node, access_key, secret_key, project_id, user_id, user_name, role, published_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [node, k.accessKey, k.secretKey, k.projectId, k.userId, k.userName, k.role, now],
          c,
        );
      }
    });
  }

  async listCredentials(): Promise<CredentialRecord[]> {
    const rows = await this.q(
      'SELECT DISTINCT ON (access_key) * FROM credentials ORDER BY access_key, published_at DESC, node',
    );
    return rows.map((r) => ({
      accessKey: String(r.access_key), secretKey: String(r.secret_key), projectId: String(r.project_id),
      userId: String(r.user_id), userName: String(r.user_name), role: r.role === 'readonly' ? 'readonly' : 'admin',
    }));
  }

  async insertToken(t: TokenRecord): Promise<void> {
    await this.q('INSERT INTO tokens (hash, access_key, expires_at, created_at) VALUES ($1, $2, $3, $4)', [t.hash, t.accessKey, t.expiresAt, t.createdAt]);
  }

  async getToken(hash: string): Promise<TokenRecord | null> {
    const [r] = await this.q('SELECT * FROM tokens WHERE hash = $1', [hash]);
    return r ? { hash: String(r.hash), accessKey: String(r.access_key), expiresAt: Number(r.expires_at), createdAt: Number(r.created_at) } : null;
  }

  async listAuditPage(projectId: string, offset: number, limit: number): Promise<{ total: number; records: AuditRecord[] }> {
    const [c] = await this.q('SELECT count(*) AS n FROM task_audit WHERE project_id = $1', [projectId]);
    const rows = await this.q('SELECT * FROM task_audit WHERE project_id = $1 ORDER BY id DESC OFFSET $2 LIMIT $3', [projectId, offset, limit]);
    return { total: Number(c!.n), records: rows.map(auditFromRow) };
  }
}

/**
 * Errors that say the database could not be reached or went away become StoreUnavailable:
 * the driver's own errors (no SQLSTATE: connect timeout, connection terminated, ECONNREFUSED)
 * and SQLSTATE classes 08 (connection exception) and 57 (operator intervention: shutdown,
 * statement timeout). Errors about the data pass through unchanged.
 */
function unavailableOr(e: unknown): unknown {
  if (e instanceof StoreUnavailable) return e;
  const code = (e as { code?: unknown })?.code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
  if (sqlState !== null && !sqlState.startsWith('08') && !sqlState.startsWith('57')) return e;
  return new StoreUnavailable(`the database is unavailable: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}
