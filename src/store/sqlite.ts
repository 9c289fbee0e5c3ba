/**
 * SQLite store: one process per data directory (single node), so no node registry and no
 * shared credentials. Every write runs in SqliteDb's group commit; a fence and the write it
 * guards run in the same write, where nothing else can interleave. SQL lives in sqlite/plans.ts.
 */
import { SqliteDb } from './sqlite/db.js';
import { SqliteMigrations } from './sqlite/migrations.js';
import * as plans from './sqlite/plans.js';
import { SqliteRecords } from './sqlite/records.js';
import { listTaskPage } from './task-counts.js';
import { auditFromRow, conditionKey, conditionValue, groupSteps, instanceFromRow, instancePatchColumns, heldPortsOf, instanceValues, portTakenBy, sortedByAge, taskInstancePatch, taskFromRow, tokenFromRow } from './rows.js';
import type { AuditRecord, Deleter, NewTask, StepRecord, TaskRecord } from '../tasks/records.js';
import type {
  CreateTaskOptions, CreateTaskOutcome, DeleteInstanceOutcome, DeleteOutcome, InsertInstanceOutcome, InstanceCondition, StepUpdate, Store, TaskFence, TaskQuery,
} from './types.js';
import type { InstancePatch, InstanceRecord, InstanceStatus } from '../instances/records.js';
import type { TokenRecord } from '../auth/records.js';

type Row = Record<string, unknown>;

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly nodes = null;
  readonly sharedCredentials = null;
  readonly migrations: SqliteMigrations;
  private readonly db: SqliteDb;
  readonly records: SqliteRecords;

  constructor(file: string) {
    this.db = new SqliteDb(file);
    this.records = new SqliteRecords(this.db, (id, patch) => this.patchInstance(id, patch));
    this.migrations = new SqliteMigrations(this.db);
  }

  async migrate(): Promise<void> {
    this.db.migrate();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /** Runs a read in one read transaction: its statements see one snapshot however writes commit meanwhile. */
  async inSnapshot<T>(read: () => Promise<T>): Promise<T> {
    this.db.run(plans.beginRead);
    try {
      return await read();
    } finally {
      this.db.run(plans.endRead);
    }
  }

  async ping(): Promise<void> {
    this.db.get(plans.ping);
  }

  /** One process per data directory: its own TaskService wakes its engine. */
  async listen(): Promise<void> {}

  // ---- instances ----

  async insertInstance(i: InstanceRecord, quota: number | null = null): Promise<InsertInstanceOutcome> {
    // The checks and the insert in one write: nothing else writes between them.
    return this.db.write((): InsertInstanceOutcome => {
      if (quota !== null && Number(this.db.get(plans.countInstancesOfProject, i.projectId)!.n) >= quota) return { outcome: 'over_quota' };
      const port = i.managed ? portTakenBy(i.nodes.map((n) => n.port), this.db.all(plans.managedNodes)) : null;
      if (port !== null) return { outcome: 'port_taken', port };
      this.db.run(plans.insertInstance, ...instanceValues(i, true));
      return { outcome: 'inserted' };
    });
  }

  async heldPorts(): Promise<Set<number>> {
    return heldPortsOf(this.db.all(plans.managedNodes));
  }

  async getInstance(projectId: string, id: string): Promise<InstanceRecord | null> {
    const r = this.db.get(plans.instanceInProject, id, projectId);
    return r ? instanceFromRow(r) : null;
  }

  async getInstanceById(id: string): Promise<InstanceRecord | null> {
    const r = this.db.get(plans.instanceById, id);
    return r ? instanceFromRow(r) : null;
  }

  async listInstances(projectId: string): Promise<InstanceRecord[]> {
    return this.db.all(plans.instancesOfProject, projectId).map(instanceFromRow);
  }

  async listAllInstances(): Promise<InstanceRecord[]> {
    return this.db.all(plans.allInstances).map(instanceFromRow);
  }

  async updateInstance(id: string, patch: InstancePatch): Promise<void> {
    await this.db.write(() => this.patchInstance(id, patch));
  }

  private patchInstance(id: string, patch: InstancePatch): void {
    const cols = instancePatchColumns({ ...patch, updatedAt: patch.updatedAt ?? Date.now() }, true);
    this.db.run(plans.patchInstance(cols.map(([c]) => c)), ...cols.map(([, v]) => v), id);
  }

  async updateInstanceIf(id: string, patch: InstancePatch, condition: InstanceCondition): Promise<boolean> {
    const cols = instancePatchColumns({ ...patch, updatedAt: patch.updatedAt ?? Date.now() }, true);
    const sql = plans.patchInstanceIf(cols.map(([c]) => c), conditionKey(condition));
    const statusIn = condition.statusIn ? JSON.stringify(condition.statusIn) : null;
    const extraValue = conditionValue(condition);
    return this.db.write(() => this.db.run(sql, ...cols.map(([, v]) => v), id, statusIn, statusIn, ...(extraValue === undefined ? [] : [extraValue])) === 1);
  }

  async updateInstanceAsTask(fence: TaskFence, instanceId: string, patch: InstancePatch): Promise<boolean> {
    const cols = instancePatchColumns({ ...patch, updatedAt: patch.updatedAt ?? fence.now }, true);
    const sql = plans.patchInstanceAsTask(cols.map(([c]) => c));
    return this.db.write(() => this.db.run(sql, ...cols.map(([, v]) => v), instanceId, fence.taskId, fence.owner, fence.now) === 1);
  }

  async deleteInstance(projectId: string, id: string): Promise<DeleteInstanceOutcome> {
    return this.db.write((): DeleteInstanceOutcome => {
      if (!this.db.get(plans.instanceInProject, id, projectId)) return { outcome: 'not_found' };
      const r = this.db.get(plans.anyActiveTaskOf, id);
      if (r) return { outcome: 'busy', activeTask: this.withSteps([r])[0]! };
      const migration = this.db.get(plans.runningMigrationOfInstance, id, id);
      if (migration) return { outcome: 'in_migration', migrationId: String(migration.id) };
      this.db.run(plans.deleteInstance, id);
      for (const sql of plans.recordsOfInstanceDeletes) this.db.run(sql, id);
      return { outcome: 'deleted' };
    });
  }

  // ---- tasks ----

  private stepsOf(ids: string[]): Map<string, StepRecord[]> {
    return ids.length ? groupSteps(this.db.all(plans.stepsOf, JSON.stringify(ids))) : new Map();
  }

  private withSteps(rows: Row[]): TaskRecord[] {
    const steps = this.stepsOf(rows.map((r) => String(r.id)));
    return rows.map((r) => taskFromRow(r, steps.get(String(r.id)) ?? []));
  }

  private taskById(id: string): TaskRecord | null {
    const r = this.db.get(plans.taskById, id);
    return r ? this.withSteps([r])[0]! : null;
  }

  private activeTaskOf(instanceId: string): TaskRecord | null {
    const r = this.db.get(plans.activeTaskOf, instanceId);
    return r ? this.withSteps([r])[0]! : null;
  }

  async createTask(t: NewTask, opts: CreateTaskOptions): Promise<CreateTaskOutcome> {
    return this.db.write((): CreateTaskOutcome => {
      const inst = this.db.get(plans.instanceInProject, t.instanceId, t.projectId);
      if (!inst) return { ok: false, refused: 'instance_gone' };
      const status = String(inst.status) as InstanceStatus;
      if (opts.refuseStatuses.includes(status)) return { ok: false, refused: 'instance_state', status };
      const active = this.activeTaskOf(t.instanceId);
      if (active) return { ok: false, refused: 'busy', activeTask: active };
      if (opts.claimPort !== undefined) {
        const port = portTakenBy([opts.claimPort], this.db.all(plans.managedNodes));
        if (port !== null) return { ok: false, refused: 'port_taken', port };
      }
      this.db.run(plans.insertTask, t.id, t.projectId, t.instanceId, t.instanceName, t.name, JSON.stringify(t.details), t.userId, t.userName,
        t.params, t.initialStatus ?? 'CREATED', JSON.stringify(t.state), t.createdAt, t.createdAt);
      t.steps.forEach((name, i) => this.db.run(plans.insertStep, t.id, i, name));
      const patch = taskInstancePatch(opts);
      if (patch) this.patchInstance(t.instanceId, patch);
      return { ok: true, task: this.taskById(t.id)! };
    });
  }

  async getTask(projectId: string, id: string): Promise<TaskRecord | null> {
    const r = this.db.get(plans.backgroundTaskById, id);
    const t = r ? this.withSteps([r])[0]! : null;
    return t && t.projectId === projectId ? t : null;
  }

  async activeTasks(projectId: string): Promise<TaskRecord[]> {
    return this.db.all(plans.activeTasksOfProject, projectId).map((r) => taskFromRow(r, []));
  }

  async listTasks(q: TaskQuery): Promise<{ total: number; tasks: TaskRecord[] }> {
    const { total, rows } = await listTaskPage(q, async (sql, args) => this.db.all(sql, ...args), plans);
    return { total, tasks: this.withSteps(rows) };
  }

  async deleteFinishedTask(projectId: string, id: string, instanceId: string | null, by: Deleter): Promise<DeleteOutcome> {
    return this.db.write((): DeleteOutcome => {
      const r = this.db.get(plans.deleteFinishedTask, id, projectId, instanceId, instanceId, instanceId, projectId);
      if (r) {
        this.audit(r, by, Date.now());
        return 'deleted';
      }
      const t = this.db.get(plans.taskById, id);
      if (!t || t.project_id !== projectId || (instanceId !== null && t.instance_id !== instanceId)) return 'not_found';
      return t.status === 'SUCCESS' || t.status === 'FAILED' ? 'not_found' : 'running';
    });
  }

  private audit(r: Row, by: Deleter, at: number): void {
    this.db.run(plans.insertAudit, r.project_id, r.id, r.instance_id, r.name, r.status, by.userId, by.userName, by.message, at);
  }

  async listAudit(projectId: string): Promise<AuditRecord[]> {
    return this.db.all(plans.auditOfProject, projectId).map(auditFromRow);
  }

  async recentDurations(name: string, limit: number): Promise<number[]> {
    return this.db.all(plans.recentDurations, name, limit).map((r) => Number(r.d));
  }

  async purgeFinishedBefore(before: number, by: Deleter, limit: number): Promise<number> {
    return this.db.write(() => {
      const ids = JSON.stringify(this.db.all(plans.expiredTaskIds, before, limit).map((r) => r.id));
      this.db.run(plans.auditTasks, by.userId, by.userName, by.message, Date.now(), ids);
      return this.db.run(plans.deleteTasks, ids);
    });
  }

  async countTasksByStatus(): Promise<Record<string, number>> {
    return Object.fromEntries(this.db.all(plans.countTasksByStatus).map((r) => [String(r.status), Number(r.n)]));
  }

  // ---- the engine ----

  async claimTasks(owner: string, limit: number, leaseMs: number, now: number, nodeId?: string): Promise<TaskRecord[]> {
    if (limit <= 0) return [];
    return this.db.write(() => {
      const rows = this.db.all(plans.claimTasks, owner, now + leaseMs, now, now, now, nodeId ?? null, nodeId ?? null, limit);
      return sortedByAge(this.withSteps(rows));
    });
  }

  async renewLeases(owner: string, ids: string[], leaseMs: number, now: number): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.db.write(() => this.db.all(plans.renewLeases, now + leaseMs, JSON.stringify(ids), owner, now).map((r) => String(r.id)));
  }

  async releaseStaleLeases(): Promise<number> {
    return this.db.write(() => this.db.run(plans.releaseAllLeases));
  }

  async updateStep(id: string, owner: string, stepName: string, u: StepUpdate, now: number): Promise<boolean> {
    return this.db.write(() => this.writeStep(id, owner, stepName, u, now));
  }

  /** A fenced step write, inside a write. */
  private writeStep(id: string, owner: string, stepName: string, u: StepUpdate, now: number): boolean {
    if (this.db.run(plans.touchOwnedTask, now, id, owner, now) === 0) return false;
    const set = (v: unknown) => [v === undefined ? 0 : 1, v ?? null];
    const changed = this.db.run(plans.updateStepByName, u.status, ...set(u.beginAt), ...set(u.endAt), ...set(u.errorCode), id, stepName);
    if (changed === 0) this.db.run(plans.appendStep, id, stepName, u.status, u.beginAt ?? null, u.endAt ?? null, u.errorCode ?? null, id);
    return true;
  }

  async updateTaskState(id: string, owner: string, patch: { state?: Record<string, unknown>; details?: Record<string, unknown> }, now: number): Promise<boolean> {
    const state = patch.state ? JSON.stringify(patch.state) : null;
    const details = patch.details ? JSON.stringify(patch.details) : null;
    return this.db.write(() => this.db.run(plans.updateTaskState, state, details, now, id, owner, now) === 1);
  }

  async finishTask(
    id: string, owner: string, status: 'SUCCESS' | 'FAILED', errorCode: string | null, failReason: string | null, now: number, lastStep?: string,
  ): Promise<boolean> {
    return this.db.write(() => {
      // The step first: finishing releases the lease its fence checks. Both see the same fence.
      if (lastStep !== undefined && !this.writeStep(id, owner, lastStep, { status: 'FINISH', endAt: now }, now)) return false;
      if (this.db.run(plans.finishTask, status, errorCode, failReason, now, now, id, owner, now) === 0) return false;
      if (status === 'FAILED') this.db.run(plans.failRunningSteps, now, errorCode, id);
      return true;
    });
  }

  // ---- credentials and tokens ----

  async recordCredentialUse(accessKey: string, at: number): Promise<void> {
    await this.db.write(() => this.db.run(plans.recordCredentialUse, accessKey, at));
  }

  async insertToken(t: TokenRecord): Promise<void> {
    await this.db.write(() => this.db.run(plans.insertToken, t.hash, t.accessKey, t.expiresAt, t.createdAt));
  }

  async getToken(hash: string): Promise<TokenRecord | null> {
    const r = this.db.get(plans.tokenByHash, hash);
    return r ? tokenFromRow(r) : null;
  }

  async listAuditPage(projectId: string, offset: number, limit: number): Promise<{ total: number; records: AuditRecord[] }> {
    const c = this.db.get(plans.auditCountOfProject, projectId);
    const rows = this.db.all(plans.auditPageOfProject, projectId, projectId, offset, limit);
    return { total: Number(c?.n ?? 0), records: rows.map(auditFromRow) };
  }
}

