/**
 * The one interface every store (SQLite, PostgreSQL) implements. Records are plain data with
 * epoch-millisecond times; the wire format is the HTTP layer's business.
 */
import type { AuditRecord, Deleter, NewTask, StepStatus, TaskRecord } from '../tasks/records.js';
import type { InstancePatch, InstanceRecord, InstanceStatus } from '../instances/records.js';
import type { CredentialRecord, TokenRecord } from '../auth/records.js';
import type {
  AutoscanConfigRecord, BackupPatch, BackupRecord, BackupStatus, RecordActor, RecordWindow, RestorePatch, RestoreRecord, ScanKind, ScanPatch, ScanQuery,
  ScanRecord,
} from '../records/records.js';
import type { MigrationLog, MigrationRecord, MigrationRunPatch, MigrationStatus } from '../migrations/records.js';

/** The `extra` key holding the port an instance's port change has claimed, until it moves there or fails (managedNodes reads it). */
export const RESERVED_PORT_KEY = 'reserved_port';

/**
 * What updateInstanceIf requires of the record: its status among `statusIn`, and/or one key of
 * `extra` still holding the value read (undefined: absent), compared as JSON.
 */
export interface InstanceCondition {
  statusIn?: InstanceStatus[];
  extraKeyIs?: { key: string; value: unknown };
}

export interface TaskQuery {
  projectId: string;
  instanceId?: string;
  /** inclusive bounds on createdAt, epoch ms */
  from?: number;
  to?: number;
  offset: number;
  limit: number;
}

/** Outcome of deleting a finished task: the store decides atomically, so two concurrent deletes never both win. */
export type DeleteOutcome = 'deleted' | 'not_found' | 'running';

/**
 * Outcome of creating a task, decided in one transaction with the instance row locked: refused
 * when the instance is gone, when its status is one the caller refuses, or while another task on
 * it is unfinished (at most one per instance).
 */
export type CreateTaskOutcome =
  | { ok: true; task: TaskRecord }
  | { ok: false; refused: 'busy'; activeTask: TaskRecord }
  | { ok: false; refused: 'instance_gone' }
  | { ok: false; refused: 'instance_state'; status: InstanceStatus }
  | { ok: false; refused: 'port_taken'; port: number };

export interface CreateTaskOptions {
  /** Written in the same transaction as the task (e.g. a pending password). */
  instancePatch?: InstancePatch;
  /**
   * A port the task will move the instance to: refused (port_taken) when a managed instance's
   * node holds it or another port change has claimed it, else claimed for this instance
   * (`extra.reserved_port`) in the task's transaction, so no create or port change can take it.
   */
  claimPort?: number;
  /** Instance statuses that refuse a new task (e.g. CREATING, DELETING). */
  refuseStatuses: InstanceStatus[];
}

/** A new instance: stored, or refused (the project at its quota; a node port another managed instance holds). */
export type InsertInstanceOutcome = { outcome: 'inserted' } | { outcome: 'over_quota' } | { outcome: 'port_taken'; port: number };

/** Outcome of deleting an instance: refused while a task on it is unfinished, in the same transaction. */
export type DeleteInstanceOutcome =
  | { outcome: 'deleted' } | { outcome: 'not_found' } | { outcome: 'busy'; activeTask: TaskRecord }
  /** Source or target of a MIGRATING / INCRMIGEATING migration (checked in the same transaction). */
  | { outcome: 'in_migration'; migrationId: string };

/** Who may write on behalf of a task: its lease owner, while the lease has not expired at `now`. */
export interface TaskFence {
  taskId: string;
  owner: string;
  now: number;
}

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

/** Multi-node stores: service nodes' liveness and the tasks a dead node leaves behind. */
export interface NodeRegistry {
  /**
   * Claims `node` for this process until the store closes: false when another process holds it —
   * a copy of that node's data directory (same node id) would supervise the same instances.
   */
  claimNode(node: string): Promise<boolean>;
  /** Records that service node `node` is alive at `now`. */
  heartbeatNode(node: string, now: number): Promise<void>;
  /**
   * Records that `node` stopped on purpose (SIGTERM, its leases released): it is down for the
   * others at once, and its tasks wait for its return. Its next heartbeat clears this.
   */
  nodeStopped(node: string, now: number): Promise<void>;
  /** The last heartbeat (epoch ms) of every service node that has not said it stopped. */
  nodeHeartbeats(): Promise<Map<string, number>>;
  /**
   * Fails the unfinished tasks nobody can run any more: tasks on managed instances whose node
   * has not beaten since `staleBefore` (and did not say it stopped), not held by a live lease,
   * with `errorCode`. Returns the failed tasks (id and task name).
   */
  failOrphanedTasks(staleBefore: number, now: number, errorCode: string): Promise<{ id: string; name: string }[]>;
}

/** Multi-node stores: credentials every node publishes from its credentials file, for the others. */
export interface CredentialDirectory {
  /** Replaces the credentials `node` publishes, so one removed from its file is revoked when it restarts. */
  publishCredentials(node: string, credentials: CredentialRecord[]): Promise<void>;
  /** Every published credential (newest publication wins for an access key given twice). */
  listCredentials(): Promise<CredentialRecord[]>;
}

/** Starting a run of a migration: refused unless it exists in the project, in an allowed status, with its instances present. */
export type StartRunOutcome =
  | { ok: true; migration: MigrationRecord }
  | { ok: false; refused: 'not_found' }
  | { ok: false; refused: 'state'; status: MigrationStatus }
  | { ok: false; refused: 'instance_gone'; instanceId: string };

/** Stop (`stop`) or sync-stop (`sync`) of a migration, recorded before it is answered. */
/** `changed` is false when the migration was stopping or stopped already (nothing written). */
export type StopOutcome = { ok: true; migration: MigrationRecord; changed: boolean } | { ok: false; refused: 'not_found' } | { ok: false; refused: 'state'; status: MigrationStatus };

/** Deleting migrations, all or nothing. */
export type DeleteMigrationsOutcome =
  | { ok: true }
  | { ok: false; refused: 'not_found'; id: string }
  | { ok: false; refused: 'running'; id: string };

/** Data migrations (automation.md §4): their records, logs and the runs that carry them out. */
export interface MigrationStore {
  /** The migration, and (online create) its finished `createMigrationTask` job and/or its first run, in one transaction. */
  createMigration(m: MigrationRecord, job: NewTask | null, run: NewTask | null): Promise<void>;
  getMigration(projectId: string, id: string): Promise<MigrationRecord | null>;
  /** By id alone: for runs, which act on behalf of no project. */
  getMigrationById(id: string): Promise<MigrationRecord | null>;
  /** Newest first; `name` is a substring of the task name. */
  listMigrations(projectId: string, name: string | undefined, offset: number, limit: number): Promise<{ total: number; migrations: MigrationRecord[] }>;
  /** The latest ERROR log message of each migration. */
  latestErrors(ids: string[]): Promise<Map<string, string>>;
  /**
   * Records a new run in one transaction: the migration (changed by `patch`) goes MIGRATING,
   * its progress starts over, and the run's engine task is created — only if its status is one
   * of `allowed` and the instances it names exist (PostgreSQL locks their rows).
   */
  startRun(projectId: string, id: string, allowed: readonly MigrationStatus[], patch: Partial<MigrationRecord>, run: NewTask): Promise<StartRunOutcome>;
  /**
   * `stop`: MIGRATING/INCRMIGEATING → TERMINATING (TERMINATED when no run is active), TERMINATING/
   * TERMINATED unchanged, else refused. `sync`: INCRMIGEATING only, recorded as a request.
   */
  requestStop(projectId: string, id: string, kind: 'stop' | 'sync'): Promise<StopOutcome>;
  /** Deletes the migrations, their logs and finished runs, auditing each; refused if any is unknown or running. */
  deleteMigrations(projectId: string, ids: string[], by: Deleter): Promise<DeleteMigrationsOutcome>;
  /** Fenced by the run's lease (same statement); false when the run is no longer ours. */
  updateAsRun(fence: TaskFence, id: string, patch: MigrationRunPatch): Promise<boolean>;
  appendLog(migrationId: string, level: 'INFO' | 'ERROR', code: string, message: string, at: number): Promise<void>;
  listLogs(migrationId: string, level: 'INFO' | 'ERROR' | undefined, offset: number, limit: number): Promise<{ total: number; logs: MigrationLog[] }>;
}

/**
 * Every task write by the engine is fenced: it succeeds only if `owner` holds the task's lease and
 * the lease has not expired at `now`, checked in the same statement as the write (false otherwise).
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** null on single-node stores. */
  readonly nodes: NodeRegistry | null;
  /** null on single-node stores (credentials come from the local file only). */
  readonly sharedCredentials: CredentialDirectory | null;
  /** Backups and restores (records.md). */
  readonly records: RecordStore;
  readonly migrations: MigrationStore;
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** One cheap round trip: is the store reachable? (GET /health) */
  ping(): Promise<void>;
  /**
   * Calls `onTaskCreated` whenever a task is created by any process sharing the database (and
   * after reconnecting). Single-process stores: nothing to listen to, the creator kicks its engine.
   */
  listen(onTaskCreated: () => void): Promise<void>;

  /**
   * Inserts the instance unless its project already has `quota` instances, or (managed) one of
   * its nodes' ports is a node port of another managed instance: all of them show one host.
   * The checks and the insert are atomic against every other create, on any node.
   */
  insertInstance(i: InstanceRecord, quota?: number | null): Promise<InsertInstanceOutcome>;
  getInstance(projectId: string, id: string): Promise<InstanceRecord | null>;
  /** By id alone: for the engine and the supervisor, which act on behalf of no project. */
  getInstanceById(id: string): Promise<InstanceRecord | null>;
  listInstances(projectId: string): Promise<InstanceRecord[]>;
  /** Every instance of every project: the supervisor's start-up list. */
  listAllInstances(): Promise<InstanceRecord[]>;
  /**
   * The ports managed instances hold, on any service node: their nodes', and the port a running
   * port change has claimed — what insertInstance and createTask's claimPort check against.
   */
  heldPorts(): Promise<Set<number>>;
  /** Unfenced: for writers that act for no task (the supervisor, instance creation). */
  updateInstance(id: string, patch: InstancePatch): Promise<void>;
  /**
   * As updateInstance, only while the record still meets `condition` (same statement); false
   * otherwise: a read-change-write of one `extra` key by any node lands only on the value read.
   */
  updateInstanceIf(id: string, patch: InstancePatch, condition: InstanceCondition): Promise<boolean>;
  /** The patch is applied only while the fence's task is held by its owner (same statement); false otherwise. */
  updateInstanceAsTask(fence: TaskFence, instanceId: string, patch: InstancePatch): Promise<boolean>;
  /**
   * Removes the instance unless it has an unfinished task or key scan (one transaction, instance
   * row locked), with its records, their tasks and its autoscan configurations; its finished
   * background tasks stay.
   */
  deleteInstance(projectId: string, id: string): Promise<DeleteInstanceOutcome>;

  /** Records a task, its steps and the instance patch in one transaction (see CreateTaskOutcome). */
  createTask(t: NewTask, opts: CreateTaskOptions): Promise<CreateTaskOutcome>;
  getTask(projectId: string, id: string): Promise<TaskRecord | null>;
  /** The unfinished tasks of a project's instances (at most one each), without steps: what show-instance's `task` reports. */
  activeTasks(projectId: string): Promise<TaskRecord[]>;
  listTasks(q: TaskQuery): Promise<{ total: number; tasks: TaskRecord[] }>;
  /**
   * Deletes a finished task and writes its audit record in the same transaction. With
   * `instanceId`, the task must be of that instance and the instance must exist (else not_found).
   */
  deleteFinishedTask(projectId: string, id: string, instanceId: string | null, by: Deleter): Promise<DeleteOutcome>;
  listAudit(projectId: string): Promise<AuditRecord[]>;

  /**
   * Claims up to `limit` runnable tasks (CREATED, or unfinished with an expired lease) for lease
   * `owner` in one statement, oldest first; each claim counts one attempt. With `nodeId`, only
   * tasks that node can run: on attached instances, on instances with no owner node, or on
   * managed instances that node supervises.
   */
  claimTasks(owner: string, limit: number, leaseMs: number, now: number, nodeId?: string): Promise<TaskRecord[]>;
  /**
   * Extends, in one statement, the leases `owner` still holds unexpired among `ids`. Returns the
   * ids renewed; the others are lost (taken over, finished or expired).
   */
  renewLeases(owner: string, ids: string[], leaseMs: number, now: number): Promise<string[]>;
  /**
   * Releases leases no live process holds, at start-up: SQLite (one process per data directory)
   * every lease; PostgreSQL the leases of earlier incarnations of node `nodeId` (owners
   * `${nodeId}/…`). Returns how many were released.
   */
  releaseStaleLeases(nodeId: string, now: number): Promise<number>;
  /** Fenced. The step is found by name; a name the task has no row for is appended as a new step. */
  updateStep(id: string, owner: string, stepName: string, u: StepUpdate, now: number): Promise<boolean>;
  /** Fenced. */
  updateTaskState(id: string, owner: string, patch: { state?: Record<string, unknown>; details?: Record<string, unknown> }, now: number): Promise<boolean>;
  /**
   * Fenced; releases the lease. With `lastStep`, that step is marked FINISH (ended `now`) in the
   * same write: the engine records a task's last step and its success together when nothing runs
   * between them (one commit on SQLite instead of two). False when the lease is lost; the step
   * may then already be FINISH, as after two separate calls. A FAILED task ends any step still
   * EXECUTING — one an earlier, interrupted run began — as FAILED with the task's code and time:
   * a finished task shows no running step.
   */
  finishTask(
    id: string, owner: string, status: 'SUCCESS' | 'FAILED', errorCode: string | null, failReason: string | null, now: number, lastStep?: string,
  ): Promise<boolean>;
  /** Durations (ms) of recent finished tasks with this name, for remain_time estimates. */
  recentDurations(name: string, limit: number): Promise<number[]>;
  /**
   * Deletes at most `limit` finished tasks older than `before` (by finished_at), in one
   * transaction, auditing each as deleted by `by`; finished record tasks go too (unaudited: the
   * records keep their outcome). Answers how many went: fewer than `limit` means none is left.
   */
  purgeFinishedBefore(before: number, by: Deleter, limit: number): Promise<number>;
  countTasksByStatus(): Promise<Record<string, number>>;

  recordCredentialUse(accessKey: string, at: number): Promise<void>;
  insertToken(t: TokenRecord): Promise<void>;
  getToken(hash: string): Promise<TokenRecord | null>;
  /** A page of the project's deletion audit, newest first, and how many records there are. */
  listAuditPage(projectId: string, offset: number, limit: number): Promise<{ total: number; records: AuditRecord[] }>;
}

// ---- DCS records (backups, restores) ----

/**
 * Outcome of creating a record with its engine task, decided in one transaction with the
 * instance row locked: the record task obeys the one-active-task rule of every task.
 */
export type CreateRecordOutcome =
  | { ok: true }
  | { ok: false; refused: 'instance_gone' }
  | { ok: false; refused: 'busy'; activeTaskName: string }
  | { ok: false; refused: 'instance_state'; status: InstanceStatus }
  | { ok: false; refused: 'backup_unknown' }
  | { ok: false; refused: 'backup_not_ready'; status: BackupStatus };

export type DeleteBackupOutcome =
  | { outcome: 'deleted'; backup: BackupRecord }
  | { outcome: 'not_found' }
  | { outcome: 'running' }
  | { outcome: 'restoring' };

/** Backups and restores, each written with (or fenced by) the engine task that drives it. */
export interface RecordStore {
  createBackup(task: NewTask, b: BackupRecord, refuseStatuses: InstanceStatus[]): Promise<CreateRecordOutcome>;
  /** Refused unless the backup (of the same instance) is `succeed`; the patch and an audit row go in the same transaction. */
  createRestore(task: NewTask, r: RestoreRecord, o: { refuseStatuses: InstanceStatus[]; instancePatch: InstancePatch; by: RecordActor }): Promise<CreateRecordOutcome>;
  getBackup(id: string): Promise<BackupRecord | null>;
  listBackups(instanceId: string, w: RecordWindow): Promise<{ total: number; items: BackupRecord[] }>;
  /** Fenced by the driving task's lease (same statement). */
  updateBackupAsTask(fence: TaskFence, id: string, patch: BackupPatch): Promise<boolean>;
  /** Marks the backup `deleted` (with an audit row) unless it is in flight or a restore from it is. */
  deleteBackup(instanceId: string, id: string, by: RecordActor, now: number): Promise<DeleteBackupOutcome>;
  getRestore(id: string): Promise<RestoreRecord | null>;
  listRestores(instanceId: string, w: RecordWindow): Promise<{ total: number; items: RestoreRecord[] }>;
  updateRestoreAsTask(fence: TaskFence, id: string, patch: RestorePatch): Promise<boolean>;

  /**
   * Records a key scan with its engine task (marked with the scan's kind, so it holds no
   * active-task slot), in one transaction with the instance row locked. Refused when the instance
   * is gone, while a task named in `refuseDuring` runs (a restore), when the instance status is in
   * `refuseStatuses` and no task runs, or while a scan of the same kind is unfinished. Then keeps
   * at most SCAN_RECORDS_KEPT records of that kind (the oldest finished go).
   */
  createScan(task: NewTask, s: ScanRecord, o: { refuseStatuses: InstanceStatus[]; refuseDuring: string[] }): Promise<CreateScanOutcome>;
  getScan(id: string): Promise<ScanRecord | null>;
  /** A page, newest first; `count` matching records, `sumNum` the sum of their num. */
  listScans(instanceId: string, kind: ScanKind, q: ScanQuery): Promise<{ count: number; sumNum: number; items: ScanRecord[] }>;
  /** Fenced by the driving task's lease (same statement). */
  updateScanAsTask(fence: TaskFence, id: string, patch: ScanPatch): Promise<boolean>;
  /** Removes a finished scan record (with an audit row); refused while its task is unfinished. */
  deleteScan(instanceId: string, kind: ScanKind, id: string, by: RecordActor, now: number): Promise<DeleteScanOutcome>;
  getAutoscanConfig(instanceId: string, kind: AutoscanConfigRecord['kind']): Promise<AutoscanConfigRecord | null>;
  putAutoscanConfig(c: AutoscanConfigRecord): Promise<void>;
  /** Records a backup that never ran (e.g. `failed` dcs.08.0008); false when its id exists already. */
  insertBackupIfAbsent(b: BackupRecord): Promise<boolean>;
  /** Marks `expired` the instance's `succeed` automatic backups created before `before`; returns their ids. */
  expireAutoBackups(instanceId: string, before: number, now: number): Promise<string[]>;
  /** Every configuration of an existing instance (the scheduler's list). */
  listAutoscanConfigs(): Promise<AutoscanConfigRecord[]>;
}

export type CreateScanOutcome =
  | { ok: true }
  | { ok: false; refused: 'instance_gone' }
  | { ok: false; refused: 'busy'; activeTaskName: string }
  | { ok: false; refused: 'instance_state'; status: InstanceStatus }
  | { ok: false; refused: 'scan_in_flight' }
  /** a record with this id exists already (a scheduled slot another node has taken) */
  | { ok: false; refused: 'duplicate' };

export type DeleteScanOutcome = { outcome: 'deleted'; scan: ScanRecord } | { outcome: 'not_found' } | { outcome: 'running' };
