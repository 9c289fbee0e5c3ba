/**
 * The one interface every store (SQLite, PostgreSQL) implements. Records are plain data with
 * epoch-millisecond times; the wire format is the HTTP layer's business.
 */
import type { AuditRecord, Deleter, NewTask, StepStatus, TaskRecord } from '../tasks/records.js';
import type { InstancePatch, InstanceRecord } from '../instances/records.js';
import type { CredentialRecord, TokenRecord } from '../auth/records.js';

export interface TaskQuery {
  projectId: string;
  instanceId?: string;
  /** inclusive bounds on createdAt, epoch ms */
  from?: number;
  to?: number;
  offset: number;
  limit: number;
}

/** Outcome of a delete: the store decides atomically, so two concurrent deletes never both win. */
export type DeleteOutcome = 'deleted' | 'not_found' | 'running';

/** Outcome of creating a task: at most one active task per instance, enforced by the store. */
export type CreateTaskOutcome = { ok: true; task: TaskRecord } | { ok: false; activeTask: TaskRecord };

export interface StepUpdate {
  status: StepStatus;
  beginAt?: number | null;
  endAt?: number | null;
  errorCode?: string | null;
}

/**
 * The store could not be reached (connection refused, dropped or timed out, database shutting
 * down): nothing is known to have happened, and trying again later is the answer. Distinct from
 * errors about the data, so the engine can leave a task to be resumed instead of failing it.
 */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  close(): Promise<void>;

  insertInstance(i: InstanceRecord): Promise<void>;
  getInstance(projectId: string, id: string): Promise<InstanceRecord | null>;
  /** By id alone: for the engine and the supervisor, which act on behalf of no project. */
  getInstanceById(id: string): Promise<InstanceRecord | null>;
  listInstances(projectId: string): Promise<InstanceRecord[]>;
  /** Every instance of every project: the supervisor's start-up list. */
  listAllInstances(): Promise<InstanceRecord[]>;
  updateInstance(id: string, patch: InstancePatch): Promise<void>;
  /** Removes the instance unless it has an active task; its finished tasks stay. */
  deleteInstance(projectId: string, id: string): Promise<'deleted' | 'not_found' | 'busy'>;

  /** Records a task (and, in the same transaction, an instance change it depends on). */
  createTask(t: NewTask, instancePatch?: InstancePatch): Promise<CreateTaskOutcome>;
  getTask(projectId: string, id: string): Promise<TaskRecord | null>;
  listTasks(q: TaskQuery): Promise<{ total: number; tasks: TaskRecord[] }>;
  /** Deletes a finished task and writes its audit record in the same transaction. */
  deleteFinishedTask(projectId: string, id: string, instanceId: string | null, by: Deleter): Promise<DeleteOutcome>;
  listAudit(projectId: string): Promise<AuditRecord[]>;

  /**
   * Claims one runnable task (CREATED, or EXECUTING with an expired lease) for lease `owner`.
   * With `nodeId`, only tasks that node can run: on attached instances, on instances with no
   * owner node, or on managed instances that node supervises.
   */
  claimTask(owner: string, leaseMs: number, now: number, nodeId?: string): Promise<TaskRecord | null>;
  /** Extends the lease; false when the task is no longer ours (taken over or finished). */
  renewLease(id: string, owner: string, leaseMs: number, now: number): Promise<boolean>;
  updateStep(id: string, owner: string, index: number, u: StepUpdate, now: number): Promise<boolean>;
  updateTaskState(id: string, owner: string, patch: { state?: Record<string, unknown>; details?: Record<string, unknown> }, now: number): Promise<boolean>;
  finishTask(id: string, owner: string, status: 'SUCCESS' | 'FAILED', errorCode: string | null, failReason: string | null, now: number): Promise<boolean>;
  /** Durations (ms) of recent finished tasks with this name, for remain_time estimates. */
  recentDurations(name: string, limit: number): Promise<number[]>;
  /** Deletes finished tasks older than `before` and audits each as deleted by `by`. */
  purgeFinishedBefore(before: number, by: Deleter): Promise<number>;
  countTasksByStatus(): Promise<Record<string, number>>;
  /** Single-node stores only: at start-up every lease belongs to a process that is gone. */
  expireAllLeases?(): Promise<number>;

  /** Multi-node stores only: records that service node `node` is alive at `now`. */
  heartbeatNode?(node: string, now: number): Promise<void>;
  /** Multi-node stores only: every service node's last heartbeat (epoch ms). */
  nodeHeartbeats?(): Promise<Map<string, number>>;
  /**
   * Multi-node stores only: fails the unfinished tasks nobody can run any more: tasks on managed
   * instances whose node has not beaten since `staleBefore`, not held by a live lease. Returns
   * the failed tasks' ids.
   */
  failOrphanedTasks?(staleBefore: number, now: number): Promise<string[]>;

  recordCredentialUse(accessKey: string, at: number): Promise<void>;
  /**
   * Multi-node stores only: replaces the credentials `node` publishes (from its credentials
   * file), so a credential removed from the file is revoked when that node restarts.
   */
  publishCredentials?(node: string, credentials: CredentialRecord[]): Promise<void>;
  /** Every published credential (newest publication wins for an access key given twice). */
  listCredentials?(): Promise<CredentialRecord[]>;
  insertToken(t: TokenRecord): Promise<void>;
  getToken(hash: string): Promise<TokenRecord | null>;
  /** A page of the project's deletion audit, newest first, and how many records there are. */
  listAuditPage(projectId: string, offset: number, limit: number): Promise<{ total: number; records: AuditRecord[] }>;
}
