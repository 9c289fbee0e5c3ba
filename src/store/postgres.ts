/**
 * PostgreSQL store: the same behaviour as the SQLite store, for several service nodes sharing
 * one database. Exactly-once comes from the database, not from the nodes: task creation and
 * instance deletion lock the instance row, claims use FOR UPDATE SKIP LOCKED, every task write
 * carries its lease fence in the same statement, a delete is one DELETE … RETURNING with its audit
 * row. LISTEN/NOTIFY tells other nodes at once that a task was created. SQL lives in postgres/plans.ts.
 */
import pg from 'pg';
import { PgDb, type Conn, type PostgresOptions, type Row } from './postgres/db.js';
import { deleteBatcher, type DeleteRequest } from './postgres/delete-batch.js';
import { Batcher, columnsOf } from './postgres/batcher.js';
import { PostgresCredentials, PostgresNodes } from './postgres/nodes.js';
import { PostgresMigrations } from './postgres/migrations.js';
import * as plans from './postgres/plans.js';
import { PostgresRecords } from './postgres/records.js';
import { listTaskPage } from './task-counts.js';
import { auditFromRow, conditionKey, conditionValue, groupSteps, instanceFromRow, instancePatchColumns, heldPortsOf, instanceValues, portTakenBy, sortedByAge, taskInstancePatch, stepFromRow, taskFromRow, tokenFromRow } from './rows.js';
import type {
  CreateTaskOptions, CreateTaskOutcome, DeleteInstanceOutcome, DeleteOutcome, InsertInstanceOutcome, InstanceCondition, StepUpdate, Store, TaskFence, TaskQuery,
} from './types.js';
import type { AuditRecord, Deleter, NewTask, TaskRecord } from '../tasks/records.js';
import type { TokenRecord } from '../auth/records.js';
import type { InstancePatch, InstanceRecord, InstanceStatus } from '../instances/records.js';

export { parsePostgresUrl, type PostgresOptions } from './postgres/db.js';

interface StepRequest { id: string; owner: string; stepName: string; u: StepUpdate; now: number }
interface FinishRequest { id: string; owner: string; status: 'SUCCESS' | 'FAILED'; errorCode: string | null; failReason: string | null; now: number }

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly nodes: PostgresNodes;
  readonly sharedCredentials: PostgresCredentials;
  readonly records: PostgresRecords;
  readonly migrations: PostgresMigrations;
  private readonly db: PgDb;
  private readonly deletes: Batcher<DeleteRequest, DeleteOutcome>;
  /** The engine's fenced step updates and finishes, batched like deletes (one statement for all in flight). */
  private readonly stepUpdates: Batcher<StepRequest, boolean>;
  private readonly finishes: Batcher<FinishRequest, boolean>;
  /** Creates without an instance patch (most), batched: one per instance per statement. */
  private readonly creates: Batcher<{ t: NewTask; refuse: InstanceStatus[] }, Row>;
  private listener: pg.Client | null = null;
  private closed = false;

  constructor(url: string, o: PostgresOptions = {}) {
    this.db = new PgDb(url, o);
    this.deletes = deleteBatcher(this.db);
    this.stepUpdates = new Batcher((r) => r.id, async (batch) => {
      const rows = await this.db.q(plans.updateStepsByName, columnsOf(batch,
        (r) => r.id, (r) => r.owner, (r) => r.now, (r) => r.stepName, (r) => r.u.status,
        (r) => r.u.beginAt !== undefined, (r) => r.u.beginAt ?? null, (r) => r.u.endAt !== undefined, (r) => r.u.endAt ?? null,
        (r) => r.u.errorCode !== undefined, (r) => r.u.errorCode ?? null));
      const owned = new Set(rows.map((r) => String(r.id)));
      return batch.map((r) => owned.has(r.id));
    });
    this.creates = new Batcher((r) => r.t.instanceId, async (batch) => {
      // One row per request, in request order (createTasks).
      return this.db.q(plans.createTasks, columnsOf(batch,
        ({ t }) => t.id, ({ t }) => t.projectId, ({ t }) => t.instanceId, ({ t }) => t.instanceName, ({ t }) => t.name,
        ({ t }) => JSON.stringify(t.details), ({ t }) => t.userId, ({ t }) => t.userName, ({ t }) => t.params,
        ({ t }) => JSON.stringify(t.state), ({ t }) => t.createdAt, ({ t }) => t.initialStatus ?? 'CREATED',
        ({ t }) => JSON.stringify(t.steps), (r) => JSON.stringify(r.refuse)));
    });
    this.finishes = new Batcher((r) => r.id, async (batch) => {
      const rows = await this.db.q(plans.finishTasks, columnsOf(batch,
        (r) => r.id, (r) => r.owner, (r) => r.status, (r) => r.errorCode, (r) => r.failReason, (r) => r.now));
      const finished = new Set(rows.map((r) => String(r.id)));
      return batch.map((r) => finished.has(r.id));
    });
    this.nodes = new PostgresNodes(this.db);
    this.sharedCredentials = new PostgresCredentials(this.db);
    this.records = new PostgresRecords(this.db, (c, id, patch) => this.patchInstance(c, id, patch));
    this.migrations = new PostgresMigrations(this.db);
  }

  async migrate(): Promise<void> {
    await this.db.migrate();
  }

  async listen(onTaskCreated: () => void): Promise<void> {
    const connect = async (): Promise<void> => {
      if (this.closed) return;
      const client = new pg.Client(this.db.config);
      client.on('error', () => {});
      client.on('notification', () => onTaskCreated());
      client.on('end', () => {
        if (this.listener === client) this.listener = null;
        if (!this.closed) setTimeout(() => void connect().catch(() => {}), 1000).unref();
      });
      try {
        await client.connect();
        await client.query(plans.listen);
        this.listener = client;
        onTaskCreated(); // catch up on anything created while we were not listening
      } catch {
        await client.end().catch(() => {});
      }
    };
    await connect();
  }

  async ping(): Promise<void> {
    await this.db.q(plans.ping, [], this.db.control);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener?.end().catch(() => {});
    await this.nodes.releaseClaim();
    await this.db.end();
  }

  // ---- instances ----

  async insertInstance(i: InstanceRecord, quota: number | null = null): Promise<InsertInstanceOutcome> {
    return this.db.tx(async (c): Promise<InsertInstanceOutcome> => {
      if (quota !== null) {
        await this.db.run(plans.lockInstancesOfProject, [i.projectId], c);
        const [r] = await this.db.q(plans.countInstancesOfProject, [i.projectId], c);
        if (Number(r!.n) >= quota) return { outcome: 'over_quota' };
      }
      if (i.managed) {
        await this.db.run(plans.lockManagedPorts, [], c);
        const port = portTakenBy(i.nodes.map((n) => n.port), await this.db.q(plans.managedNodes, [], c));
        if (port !== null) return { outcome: 'port_taken', port };
      }
      await this.db.run(plans.insertInstance, instanceValues(i, false), c);
      return { outcome: 'inserted' };
    });
  }

  async heldPorts(): Promise<Set<number>> {
    return heldPortsOf(await this.db.q(plans.managedNodes));
  }

  async getInstance(projectId: string, id: string): Promise<InstanceRecord | null> {
    const [r] = await this.db.q(plans.instanceInProject, [id, projectId]);
    return r ? instanceFromRow(r) : null;
  }

  async getInstanceById(id: string): Promise<InstanceRecord | null> {
    const [r] = await this.db.q(plans.instanceById, [id]);
    return r ? instanceFromRow(r) : null;
  }

  async listInstances(projectId: string): Promise<InstanceRecord[]> {
    return (await this.db.q(plans.instancesOfProject, [projectId])).map(instanceFromRow);
  }

  async listAllInstances(): Promise<InstanceRecord[]> {
    return (await this.db.q(plans.allInstances)).map(instanceFromRow);
  }

  async updateInstance(id: string, patch: InstancePatch): Promise<void> {
    await this.patchInstance(this.db.pool, id, patch);
  }

  private async patchInstance(c: Conn, id: string, patch: InstancePatch): Promise<void> {
    const cols = instancePatchColumns({ ...patch, updatedAt: patch.updatedAt ?? Date.now() }, false);
    await this.db.run(plans.patchInstance(cols.map(([col]) => col)), [...cols.map(([, v]) => v), id], c);
  }

  async updateInstanceIf(id: string, patch: InstancePatch, condition: InstanceCondition): Promise<boolean> {
    const cols = instancePatchColumns({ ...patch, updatedAt: patch.updatedAt ?? Date.now() }, false);
    const extraValue = conditionValue(condition);
    const res = await this.db.run(
      plans.patchInstanceIf(cols.map(([col]) => col), conditionKey(condition)),
      [...cols.map(([, v]) => v), id, condition.statusIn ?? null, ...(extraValue === undefined ? [] : [extraValue])],
    );
    return res.rowCount === 1;
  }

  async updateInstanceAsTask(fence: TaskFence, instanceId: string, patch: InstancePatch): Promise<boolean> {
    const cols = instancePatchColumns({ ...patch, updatedAt: patch.updatedAt ?? fence.now }, false);
    const res = await this.db.run(
      plans.patchInstanceAsTask(cols.map(([col]) => col)),
      [...cols.map(([, v]) => v), instanceId, fence.taskId, fence.owner, fence.now],
    );
    return res.rowCount === 1;
  }

  async deleteInstance(projectId: string, id: string): Promise<DeleteInstanceOutcome> {
    return this.db.tx(async (c): Promise<DeleteInstanceOutcome> => {
      if ((await this.db.q(plans.lockInstance, [id, projectId], c)).length === 0) return { outcome: 'not_found' };
      const [active] = await this.withSteps(await this.db.q(plans.anyActiveTaskOf, [id], c), c);
      if (active) return { outcome: 'busy', activeTask: active };
      const [migration] = await this.db.q(plans.runningMigrationOfInstance, [id], c);
      if (migration) return { outcome: 'in_migration', migrationId: String(migration.id) };
      await this.db.run(plans.deleteInstance, [id], c);
      for (const sql of plans.recordsOfInstanceDeletes) await this.db.run(sql, [id], c);
      return { outcome: 'deleted' };
    });
  }

  // ---- tasks ----

  private async withSteps(rows: Row[], c: Conn = this.db.pool): Promise<TaskRecord[]> {
    if (rows.length === 0) return [];
    const steps = groupSteps(await this.db.q(plans.stepsOf, [rows.map((r) => String(r.id))], c));
    return rows.map((r) => taskFromRow(r, steps.get(String(r.id)) ?? []));
  }

  private async taskById(id: string, c: Conn = this.db.pool): Promise<TaskRecord | null> {
    const [t] = await this.withSteps(await this.db.q(plans.taskById, [id], c), c);
    return t ?? null;
  }

  private async activeTaskOf(c: Conn, instanceId: string): Promise<TaskRecord | null> {
    const [t] = await this.withSteps(await this.db.q(plans.activeTaskOf, [instanceId], c), c);
    return t ?? null;
  }

  /** The same algorithm as SQLite's, with the instance row locked for the transaction. */
  async createTask(t: NewTask, opts: CreateTaskOptions): Promise<CreateTaskOutcome> {
    const patch = taskInstancePatch(opts);
    if (!patch) return this.createTaskInDatabase(t, opts);
    return this.db.tx(async (c): Promise<CreateTaskOutcome> => {
      const [inst] = await this.db.q(plans.lockInstance, [t.instanceId, t.projectId], c);
      if (!inst) return { ok: false, refused: 'instance_gone' };
      const status = String(inst.status) as InstanceStatus;
      if (opts.refuseStatuses.includes(status)) return { ok: false, refused: 'instance_state', status };
      const active = await this.activeTaskOf(c, t.instanceId);
      if (active) return { ok: false, refused: 'busy', activeTask: active };
      if (opts.claimPort !== undefined) {
        await this.db.run(plans.lockManagedPorts, [], c);
        const port = portTakenBy([opts.claimPort], await this.db.q(plans.managedNodes, [], c));
        if (port !== null) return { ok: false, refused: 'port_taken', port };
      }
      await this.db.run(plans.insertTask, [t.id, t.projectId, t.instanceId, t.instanceName, t.name, JSON.stringify(t.details),
        t.userId, t.userName, t.params, JSON.stringify(t.state), t.createdAt, t.initialStatus ?? 'CREATED'], c);
      await this.db.run(plans.insertSteps, [t.id, t.steps], c);
      await this.patchInstance(c, t.instanceId, patch);
      await this.db.run(plans.notify, [], c);
      return { ok: true, task: (await this.taskById(t.id, c))! };
    });
  }

  /** The same algorithm, in the database (create_task); the creates in flight go in one statement. */
  private async createTaskInDatabase(t: NewTask, opts: CreateTaskOptions): Promise<CreateTaskOutcome> {
    const r = await this.creates.submit({ t, refuse: opts.refuseStatuses });
    switch (r.outcome) {
      case 'created':
        return { ok: true, task: taskFromRow(r.task as Row, ((r.steps ?? []) as Row[]).map(stepFromRow)) };
      case 'instance_gone':
        return { ok: false, refused: 'instance_gone' };
      case 'instance_state':
        return { ok: false, refused: 'instance_state', status: String(r.detail) as InstanceStatus };
      case 'busy': {
        // Read after the call: the active task may have finished meanwhile; it is still the reason.
        const active = await this.taskById(String(r.detail));
        if (active) return { ok: false, refused: 'busy', activeTask: active };
        return this.createTaskInDatabase(t, opts);
      }
      default:
        throw new Error(`create_task answered ${String(r.outcome)}`);
    }
  }

  async getTask(projectId: string, id: string): Promise<TaskRecord | null> {
    const [t] = await this.withSteps(await this.db.q(plans.backgroundTaskById, [id]));
    return t && t.projectId === projectId ? t : null;
  }

  async activeTasks(projectId: string): Promise<TaskRecord[]> {
    return (await this.db.q(plans.activeTasksOfProject, [projectId])).map((r) => taskFromRow(r, []));
  }

  async listTasks(q: TaskQuery): Promise<{ total: number; tasks: TaskRecord[] }> {
    const { total, rows } = await listTaskPage(q, (sql, args) => this.db.prepared(sql, args), plans);
    return { total, tasks: rows.map((r) => taskFromRow(r, ((r.steps_json ?? []) as Row[]).map(stepFromRow))) };
  }

  async deleteFinishedTask(projectId: string, id: string, instanceId: string | null, by: Deleter): Promise<DeleteOutcome> {
    return this.deletes.submit({ projectId, id, instanceId, by, at: Date.now() });
  }

  async listAudit(projectId: string): Promise<AuditRecord[]> {
    return (await this.db.q(plans.auditOfProject, [projectId])).map(auditFromRow);
  }

  async recentDurations(name: string, limit: number): Promise<number[]> {
    return (await this.db.q(plans.recentDurations, [name, limit])).map((r) => Number(r.d));
  }

  async purgeFinishedBefore(before: number, by: Deleter, limit: number): Promise<number> {
    const [r] = await this.db.q(plans.purgeFinishedBefore, [before, by.userId, by.userName, by.message, Date.now(), limit]);
    return Number(r?.n ?? 0);
  }

  async countTasksByStatus(): Promise<Record<string, number>> {
    return Object.fromEntries((await this.db.q(plans.countTasksByStatus)).map((r) => [String(r.status), Number(r.n)]));
  }

  // ---- the engine ----

  async claimTasks(owner: string, limit: number, leaseMs: number, now: number, nodeId?: string): Promise<TaskRecord[]> {
    if (limit <= 0) return [];
    const rows = await this.db.q(plans.claimTasks, [owner, now + leaseMs, now, nodeId ?? null, limit]);
    return sortedByAge(await this.withSteps(rows));
  }

  async renewLeases(owner: string, ids: string[], leaseMs: number, now: number): Promise<string[]> {
    if (ids.length === 0) return [];
    return (await this.db.q(plans.renewLeases, [now + leaseMs, ids, owner, now], this.db.control)).map((r) => String(r.id));
  }

  async releaseStaleLeases(nodeId: string): Promise<number> {
    return (await this.db.run(plans.releaseNodeLeases, [nodeId])).rowCount ?? 0;
  }

  async updateStep(id: string, owner: string, stepName: string, u: StepUpdate, now: number): Promise<boolean> {
    return this.stepUpdates.submit({ id, owner, stepName, u, now });
  }

  async updateTaskState(id: string, owner: string, patch: { state?: Record<string, unknown>; details?: Record<string, unknown> }, now: number): Promise<boolean> {
    const res = await this.db.run(plans.updateTaskState, [
      patch.state ? JSON.stringify(patch.state) : null, patch.details ? JSON.stringify(patch.details) : null, now, id, owner,
    ]);
    return res.rowCount === 1;
  }

  async finishTask(
    id: string, owner: string, status: 'SUCCESS' | 'FAILED', errorCode: string | null, failReason: string | null, now: number, lastStep?: string,
  ): Promise<boolean> {
    // Two batched statements here (each batch is one statement for every task in flight); a lost
    // lease between them leaves the step FINISH and the task to its new owner, as two calls would.
    if (lastStep !== undefined && !(await this.updateStep(id, owner, lastStep, { status: 'FINISH', endAt: now }, now))) return false;
    return this.finishes.submit({ id, owner, status, errorCode, failReason, now });
  }

  // ---- credentials and tokens ----

  async recordCredentialUse(accessKey: string, at: number): Promise<void> {
    await this.db.run(plans.recordCredentialUse, [accessKey, at]);
  }

  async insertToken(t: TokenRecord): Promise<void> {
    await this.db.run(plans.insertToken, [t.hash, t.accessKey, t.expiresAt, t.createdAt]);
  }

  async getToken(hash: string): Promise<TokenRecord | null> {
    const [r] = await this.db.q(plans.tokenByHash, [hash]);
    return r ? tokenFromRow(r) : null;
  }

  async listAuditPage(projectId: string, offset: number, limit: number): Promise<{ total: number; records: AuditRecord[] }> {
    const [c] = await this.db.q(plans.auditCountOfProject, [projectId]);
    const rows = await this.db.q(plans.auditPageOfProject, [projectId, offset, limit]);
    return { total: Number(c?.n ?? 0), records: rows.map(auditFromRow) };
  }
}
