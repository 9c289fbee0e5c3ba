/**
 * Every SQL statement of the SQLite store, by name (as pg-boss keeps its plans): the store calls
 * these and holds no SQL of its own. Positional `?` parameters, in the order each comment gives.
 */
import { INSTANCE_COLUMNS, instanceAssignments } from '../rows.js';
import { locateSecondSql } from '../task-counts.js';
import { MIGRATION_COLUMNS } from '../migration-rows.js';

const ACTIVE = `status IN ('CREATED','WAITING','EXECUTING')`;
/** Tasks that hold an instance's one active-task slot: background tasks, backups, restores, migration runs (not key scans). */
const SLOT = `(record_kind IS NULL OR record_kind IN ('backup','restore','migration'))`;
/** The lease fence. Parameters: owner, now. */
const FENCE = `lease_owner = ? AND status = 'EXECUTING' AND lease_expires_at > ?`;
/** Parameters: one JSON array of ids. */
const IDS = `(SELECT value FROM json_each(?))`;

/** Each write of a group commit in its own savepoint: a failing write is undone alone. */
export const savepoint = 'SAVEPOINT write';
export const rollbackToSavepoint = 'ROLLBACK TO write';
export const releaseSavepoint = 'RELEASE write';

/** A read transaction (the reader thread's reads: one snapshot per call). */
export const beginRead = 'BEGIN';
export const endRead = 'COMMIT';

export const createMigrationsTable = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)';
export const appliedMigrations = 'SELECT version FROM schema_migrations';
/** version, applied_at */
export const recordMigration = 'INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)';

// ---- instances ----

/** INSTANCE_COLUMNS in order */
export const insertInstance = `INSERT INTO instances (${INSTANCE_COLUMNS.join(',')}) VALUES (${INSTANCE_COLUMNS.map(() => '?').join(',')})`;
/** id, project_id */
export const instanceInProject = 'SELECT * FROM instances WHERE id = ? AND project_id = ?';
/** project_id */
export const countInstancesOfProject = 'SELECT COUNT(*) AS n FROM instances WHERE project_id = ?';
/**
 * Every managed instance's nodes and port claim (portTakenBy): a claim counts while the instance
 * has an unfinished task (the port change that made it), so one whose task was failed elsewhere,
 * without its failure hook (a dead node), holds nothing.
 */
export const managedNodes = `SELECT nodes, CASE WHEN EXISTS (SELECT 1 FROM tasks t WHERE t.instance_id = instances.id AND t.${ACTIVE})
  THEN json_extract(extra, '$.reserved_port') END AS reserved_port FROM instances WHERE managed = 1`;
/** id */
export const instanceById = 'SELECT * FROM instances WHERE id = ?';
/** project_id */
export const instancesOfProject = 'SELECT * FROM instances WHERE project_id = ? ORDER BY created_at DESC, id DESC';
export const allInstances = 'SELECT * FROM instances ORDER BY created_at';
/** the columns' values, then id */
export const patchInstance = (columns: string[]) =>
  `UPDATE instances SET ${instanceAssignments(columns, () => '?', (keys) => `json_set(extra, ${keys.map(([k, p]) => `'$.${k}', json(${p})`).join(', ')})`)} WHERE id = ?`;
/**
 * The columns' values, then id, the statuses allowed (a JSON array or null: any) twice, and with
 * `extraKey` the JSON that key must hold (null: absent). `->` gives a JSON null as 'null', an
 * absent key as NULL, and arrays and objects minified, as json() gives the value compared.
 */
export const patchInstanceIf = (columns: string[], extraKey: string | null) =>
  `${patchInstance(columns)} AND (? IS NULL OR status IN (SELECT value FROM json_each(?)))` +
  (extraKey === null ? '' : ` AND (extra -> '$.${extraKey}') IS json(?)`);
/** the columns' values, then id, task id, owner, now */
export const patchInstanceAsTask = (columns: string[]) =>
  `${patchInstance(columns)} AND EXISTS (SELECT 1 FROM tasks WHERE id = ? AND ${FENCE})`;
/** id */
export const deleteInstance = 'DELETE FROM instances WHERE id = ?';

// ---- tasks ----

/** instance_id */
export const activeTaskOf = `SELECT * FROM tasks WHERE instance_id = ? AND ${ACTIVE} AND ${SLOT}`;
/** The unfinished task that keeps an instance from being deleted: a slot holder first, else a key scan. instance_id */
export const anyActiveTaskOf = `SELECT * FROM tasks WHERE instance_id = ? AND ${ACTIVE} ORDER BY CASE WHEN ${SLOT} THEN 0 ELSE 1 END LIMIT 1`;
/**
 * project_id. Read by every instance show and list. Without statistics the planner walked the
 * project's index — every task the project ever had, 0.8 s at a million — where the partial index
 * of active slot holders (at most one row per instance) answers in a fraction of a millisecond.
 */
export const activeTasksOfProject = `SELECT * FROM tasks INDEXED BY tasks_one_active
  WHERE project_id = ? AND ${ACTIVE} AND ${SLOT} ORDER BY created_at, id`;
/** id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state, created_at, updated_at */
export const insertTask = `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/** task_id, idx, name */
export const insertStep = `INSERT INTO task_steps (task_id, idx, name, status) VALUES (?, ?, ?, 'WAITING')`;
/** id */
export const taskById = 'SELECT * FROM tasks WHERE id = ?';
/** A background task (not a record's engine task). id */
export const backgroundTaskById = 'SELECT * FROM tasks WHERE id = ? AND record_kind IS NULL';
/** JSON array of task ids */
export const stepsOf = `SELECT * FROM task_steps WHERE task_id IN ${IDS} ORDER BY task_id, idx`;

export interface TaskFilter { projectId: string; instanceId?: string; from?: number; to?: number }

/** The WHERE clause of a task listing and its parameters. */
function taskFilter(f: TaskFilter): { where: string; args: unknown[] } {
  const where = ['project_id = ?', 'record_kind IS NULL'];
  const args: unknown[] = [f.projectId];
  if (f.instanceId) { where.push('instance_id = ?'); args.push(f.instanceId); }
  if (f.from !== undefined) { where.push('created_at >= ?'); args.push(f.from); }
  if (f.to !== undefined) { where.push('created_at <= ?'); args.push(f.to); }
  return { where: where.join(' AND '), args };
}

/** The filter's parameters */
export function countTasks(f: TaskFilter) {
  const { where, args } = taskFilter(f);
  return { sql: `SELECT COUNT(*) AS n FROM tasks WHERE ${where}`, args };
}

/**
 * The filter's parameters, then limit, offset. An instance's page names its index: without
 * statistics the planner takes the project's index and filters a million rows by instance.
 */
export function pageOfTasks(f: TaskFilter, limit: number, offset: number) {
  const { where, args } = taskFilter(f);
  const index = f.instanceId ? 'tasks_project_instance_created' : 'tasks_project_created';
  return { sql: `SELECT * FROM tasks INDEXED BY ${index} WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, args: [...args, limit, offset] };
}

/**
 * Sums of task_counts buckets (see store/task-counts.ts), one row per range, in order.
 * project_id, instance_id ('' = the project), ranges as a JSON array of [span, from, to]
 */
export const sumTaskBuckets = `SELECT COALESCE((SELECT SUM(c.n) FROM task_counts c WHERE c.project_id = ? AND c.instance_id = ?
    AND c.span = r.value ->> 0 AND c.bucket >= r.value ->> 1 AND c.bucket < r.value ->> 2), 0) AS n
  FROM json_each(?) r ORDER BY r.key`;
/** locateSecond's statement for a walk starting at buckets of `span` (see task-counts.ts). */
export const locateTaskSecond = (span: number): string => locateSecondSql(span, () => '?');

/**
 * A finished task of the project (and of the instance, which must still exist, when one is
 * given) removed, its row returned for the audit record: check and delete in one statement.
 * id, project_id, instance_id or null, instance_id, instance_id, project_id
 */
export const deleteFinishedTask = `DELETE FROM tasks WHERE id = ? AND project_id = ? AND status IN ('SUCCESS','FAILED')
    AND (? IS NULL OR (instance_id = ? AND EXISTS (SELECT 1 FROM instances WHERE id = ? AND project_id = ?)))
  RETURNING project_id, id, instance_id, name, status`;
/** project_id, task_id, instance_id, task_name, last_status, actor_id, actor_name, message, deleted_at */
export const insertAudit = `INSERT INTO task_audit (project_id, task_id, instance_id, task_name, last_status, actor_id, actor_name, message, deleted_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/** project_id */
export const auditOfProject = 'SELECT * FROM task_audit WHERE project_id = ? ORDER BY id';
/**
 * Retention: ids of finished tasks (record tasks too) that finished before `before`, at most
 * `limit`. Found name by name through tasks_name_finished — the names by a loose index scan (each
 * next name one index seek), then a range of finished_at per name — so a purge with nothing to do
 * reads a few index pages, not every finished task (~0.45 s at a million, on the writer thread).
 * before, limit
 */
export const expiredTaskIds = `WITH RECURSIVE names(name) AS (
    SELECT MIN(name) FROM tasks
    UNION ALL
    SELECT (SELECT MIN(t.name) FROM tasks t WHERE t.name > names.name) FROM names WHERE names.name IS NOT NULL)
  SELECT t.id FROM names CROSS JOIN tasks t
  WHERE t.name = names.name AND t.finished_at < ? AND t.status IN ('SUCCESS','FAILED')
  LIMIT ?`;
/** Audit rows for the ordinary tasks among `ids` (a JSON array), as one statement. actor_id, actor_name, message, deleted_at, ids */
export const auditTasks = `INSERT INTO task_audit (project_id, task_id, instance_id, task_name, last_status, actor_id, actor_name, message, deleted_at)
  SELECT project_id, id, instance_id, name, status, ?, ?, ?, ? FROM tasks WHERE id IN (SELECT value FROM json_each(?)) AND record_kind IS NULL`;
/**
 * The tasks `ids` (a JSON array), as one statement: thousands of single deletes inside one
 * write's savepoint slow down with every statement (quadratic), one statement does not. ids
 */
export const deleteTasks = 'DELETE FROM tasks WHERE id IN (SELECT value FROM json_each(?))';
/** name, limit */
export const recentDurations = `SELECT finished_at - started_at AS d FROM tasks WHERE name = ? AND status = 'SUCCESS' AND started_at IS NOT NULL
  ORDER BY finished_at DESC LIMIT ?`;
export const countTasksByStatus = 'SELECT status, COUNT(*) AS n FROM tasks GROUP BY status';

// ---- the engine ----

/** owner, lease_expires_at, now (started), now (updated), now (expired before), nodeId, nodeId, limit */
export const claimTasks = `UPDATE tasks SET status = 'EXECUTING', lease_owner = ?, lease_expires_at = ?, started_at = COALESCE(started_at, ?),
    attempts = attempts + 1, updated_at = ?
  WHERE id IN (
    SELECT t.id FROM tasks t LEFT JOIN instances i ON i.id = t.instance_id
    WHERE (t.status = 'CREATED' OR (t.status IN ('WAITING','EXECUTING') AND (t.lease_expires_at IS NULL OR t.lease_expires_at < ?)))
      AND (? IS NULL OR i.id IS NULL OR i.managed = 0 OR i.owner_node IS NULL OR i.owner_node = ?)
    ORDER BY t.created_at, t.id LIMIT ?)
  RETURNING *`;
/** lease_expires_at, JSON array of ids, owner, now */
export const renewLeases = `UPDATE tasks SET lease_expires_at = ? WHERE id IN ${IDS} AND ${FENCE} RETURNING id`;
/** One process per data directory: at start-up every lease belongs to a process that is gone. */
export const releaseAllLeases = `UPDATE tasks SET lease_expires_at = 0 WHERE ${ACTIVE} AND lease_owner IS NOT NULL`;
/** The fence of a step write, in its transaction. updated_at, id, owner, now */
export const touchOwnedTask = `UPDATE tasks SET updated_at = ? WHERE id = ? AND ${FENCE}`;
/**
 * Each optional column is written only when its flag is 1.
 * status, setBegin, begin_at, setEnd, end_at, setError, error_code, task_id, name
 */
export const updateStepByName = `UPDATE task_steps SET status = ?,
    begin_at = CASE WHEN ? THEN ? ELSE begin_at END,
    end_at = CASE WHEN ? THEN ? ELSE end_at END,
    error_code = CASE WHEN ? THEN ? ELSE error_code END
  WHERE task_id = ? AND name = ?`;
/** task_id, name, status, begin_at, end_at, error_code, task_id */
export const appendStep = `INSERT INTO task_steps (task_id, idx, name, status, begin_at, end_at, error_code)
  SELECT ?, COALESCE(MAX(idx) + 1, 0), ?, ?, ?, ?, ? FROM task_steps WHERE task_id = ?`;
/** state or null, details or null, updated_at, id, owner, now */
export const updateTaskState = `UPDATE tasks SET state = COALESCE(?, state), details = COALESCE(?, details), updated_at = ?
  WHERE id = ? AND ${FENCE}`;
/** status, error_code, fail_reason, finished_at, updated_at, id, owner, now */
export const finishTask = `UPDATE tasks SET status = ?, error_code = ?, fail_reason = ?, finished_at = ?, updated_at = ?,
    lease_owner = NULL, lease_expires_at = NULL
  WHERE id = ? AND ${FENCE}`;

/** Steps a failed task left EXECUTING end with it. end_at, error_code, task_id */
export const failRunningSteps = `UPDATE task_steps SET status = 'FAILED', end_at = ?, error_code = ? WHERE task_id = ? AND status = 'EXECUTING'`;

// ---- credentials and tokens ----

/** access_key, at */
export const recordCredentialUse = `INSERT INTO credential_use (access_key, last_used_at, use_count) VALUES (?, ?, 1)
  ON CONFLICT(access_key) DO UPDATE SET last_used_at = excluded.last_used_at, use_count = use_count + 1`;
/** hash, access_key, expires_at, created_at */
export const insertToken = 'INSERT INTO tokens (hash, access_key, expires_at, created_at) VALUES (?, ?, ?, ?)';
/** hash */
export const tokenByHash = 'SELECT * FROM tokens WHERE hash = ?';

// ---- DCS records (backups, restores) ----

/** A record's engine task (no background task: not listed, not counted). Same columns as insertTask, then record_kind. */
export const insertRecordTask = `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state, created_at, updated_at, record_kind)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/** The name of the instance's unfinished task (any kind). instance_id */
export const activeTaskNameOf = `SELECT name FROM tasks WHERE instance_id = ? AND ${ACTIVE} AND ${SLOT}`;
/** backupValues order */
export const insertBackup = `INSERT INTO backups (id, project_id, instance_id, name, period, size, backup_type, format, status, progress,
    error_code, remark, file_name, created_at, updated_at, execution_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/** Records with their task's status (an in-flight record whose task ended was interrupted). */
const BACKUP_WITH_TASK = 'SELECT b.*, t.status AS task_status FROM backups b LEFT JOIN tasks t ON t.id = b.id';
/** id */
export const backupById = `${BACKUP_WITH_TASK} WHERE b.id = ?`;
/** A record list's window on created_at (alias `a`). Parameters: instance_id, from, from, to, to (null = open) */
const recordWindow = (a: string) => `${a}.instance_id = ? AND (? IS NULL OR ${a}.created_at >= ?) AND (? IS NULL OR ${a}.created_at <= ?)`;
/** recordWindow's parameters */
export const countBackups = `SELECT COUNT(*) AS n FROM backups b WHERE ${recordWindow('b')}`;
/** recordWindow's parameters, limit, offset */
export const pageOfBackups = `${BACKUP_WITH_TASK} WHERE ${recordWindow('b')} ORDER BY b.created_at DESC, b.id DESC LIMIT ? OFFSET ?`;
/** A record written by its own task (same id), fenced. The columns' values, then id, owner, now */
const patchRecordAsTask = (table: 'backups' | 'restores' | 'key_scans', columns: string[]) =>
  `UPDATE ${table} SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE id = ? AND EXISTS (SELECT 1 FROM tasks WHERE id = ${table}.id AND ${FENCE})`;
/** the columns' values, then id, owner, now */
export const patchBackupAsTask = (columns: string[]) => patchRecordAsTask('backups', columns);
/** updated_at, id */
export const markBackupDeleted = `UPDATE backups SET status = 'deleted', updated_at = ? WHERE id = ?`;
/** A restore from this backup still in flight. backup_id */
export const restoreInFlightFrom = `SELECT 1 FROM restores r JOIN tasks t ON t.id = r.id WHERE r.backup_id = ? AND t.${ACTIVE}`;
/** restoreValues order */
export const insertRestore = `INSERT INTO restores (id, project_id, instance_id, backup_id, backup_name, backup_remark, status, progress, error_code,
    remark, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const RESTORE_WITH_TASK = 'SELECT r.*, t.status AS task_status FROM restores r LEFT JOIN tasks t ON t.id = r.id';
/** id */
export const restoreById = `${RESTORE_WITH_TASK} WHERE r.id = ?`;
/** recordWindow's parameters */
export const countRestores = `SELECT COUNT(*) AS n FROM restores r WHERE ${recordWindow('r')}`;
/** recordWindow's parameters, limit, offset */
export const pageOfRestores = `${RESTORE_WITH_TASK} WHERE ${recordWindow('r')} ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?`;
/** the columns' values, then id, owner, now */
export const patchRestoreAsTask = (columns: string[]) => patchRecordAsTask('restores', columns);
/** project_id, instance_id, record_kind, record_id, action, last_status, actor_id, actor_name, at */
export const insertRecordAudit = `INSERT INTO record_audit (project_id, instance_id, record_kind, record_id, action, last_status, actor_id, actor_name, at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

// ---- data migrations (automation.md §4) ----

/** MIGRATION_COLUMNS in order */
export const insertMigration = `INSERT INTO migrations (${MIGRATION_COLUMNS.join(',')}) VALUES (${MIGRATION_COLUMNS.map(() => '?').join(',')})`;
/** id, project_id */
export const migrationInProject = 'SELECT * FROM migrations WHERE id = ? AND project_id = ?';
/** id */
export const migrationById = 'SELECT * FROM migrations WHERE id = ?';
/** project_id, name or null, name or null */
export const countMigrations = 'SELECT COUNT(*) AS n FROM migrations WHERE project_id = ? AND (? IS NULL OR instr(name, ?) > 0)';
/** project_id, name or null, name or null, limit, offset */
export const pageOfMigrations = `SELECT * FROM migrations WHERE project_id = ? AND (? IS NULL OR instr(name, ?) > 0)
  ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`;
/** JSON array of migration ids */
export const latestMigrationErrors = `SELECT migration_id, message FROM migration_logs WHERE id IN (
  SELECT MAX(id) FROM migration_logs WHERE level = 'ERROR' AND migration_id IN ${IDS} GROUP BY migration_id)`;
/** The columns' values, then id */
export const patchMigration = (columns: string[]) => `UPDATE migrations SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`;
/** The columns' values, then id, run (task) id, owner, now */
export const patchMigrationAsRun = (columns: string[]) =>
  `${patchMigration(columns)} AND run_id = ? AND EXISTS (SELECT 1 FROM tasks WHERE id = run_id AND ${FENCE})`;
/** A job that is over when it is created (createMigrationTask). id, project_id, instance_id, instance_name, name, user_id, user_name, params, now ×4 */
export const insertFinishedTask = `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state,
    created_at, updated_at, started_at, finished_at)
  VALUES (?, ?, ?, ?, ?, '{}', ?, ?, ?, 'SUCCESS', '{}', ?, ?, ?, ?)`;
/** project_id, instance_id: the finished tasks (runs, jobs) of a migration, found through the (project, instance) index */
export const deleteFinishedTasksOf = `DELETE FROM tasks WHERE project_id = ? AND instance_id = ? AND status IN ('SUCCESS','FAILED')`;
/** id */
export const deleteMigration = 'DELETE FROM migrations WHERE id = ?';
/** migration_id */
export const deleteMigrationLogs = 'DELETE FROM migration_logs WHERE migration_id = ?';
/** migration_id, created_at, level, code, message */
export const insertMigrationLog = 'INSERT INTO migration_logs (migration_id, created_at, level, code, message) VALUES (?, ?, ?, ?, ?)';
/** migration_id, level or null, level or null */
export const countMigrationLogs = 'SELECT COUNT(*) AS n FROM migration_logs WHERE migration_id = ? AND (? IS NULL OR level = ?)';
/** migration_id, level or null, level or null, limit, offset */
export const pageOfMigrationLogs = `SELECT * FROM migration_logs WHERE migration_id = ? AND (? IS NULL OR level = ?)
  ORDER BY id DESC LIMIT ? OFFSET ?`;
/** instance id, instance id: a migration that keeps the instance from being deleted */
export const runningMigrationOfInstance = `SELECT id FROM migrations
  WHERE status IN ('MIGRATING','INCRMIGEATING') AND (source_instance_id = ? OR target_instance_id = ?) LIMIT 1`;

/** The project's audit rows, as counted by the trigger of migration 18. */
export const auditCountOfProject = 'SELECT COALESCE((SELECT n FROM audit_counts WHERE project_id = ?), 0) AS n';
/**
 * A page of the audit, newest first: the offset is walked in the (project_id, id) index alone,
 * then the page read from there. project_id, project_id, offset, limit
 */
export const auditPageOfProject = `SELECT * FROM task_audit WHERE project_id = ?
    AND id <= (SELECT id FROM task_audit WHERE project_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
  ORDER BY id DESC LIMIT ?`;

/** A round trip that touches nothing (GET /health). */
export const ping = 'SELECT 1';

// ---- key scans (big-key, hot-key, expired-key) ----

/**
 * A key scan's engine task, its kind set in the insert itself so the one-scan-per-kind index
 * judges it (and the one-active-task index ignores it). A scheduled run's id is fixed per
 * slot: a second node creating it again inserts nothing. id, project_id, instance_id,
 * instance_name, name, details, user_id, user_name, params, state, created_at, updated_at, record_kind
 */
export const insertScanTask = `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state,
    created_at, updated_at, record_kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'CREATED', ?, ?, ?, ?)
  ON CONFLICT (id) DO NOTHING`;
/** instance_id, record_kind */
export const scanTaskInFlight = `SELECT 1 FROM tasks WHERE instance_id = ? AND record_kind = ? AND ${ACTIVE}`;
/** scanValues order */
export const insertScan = `INSERT INTO key_scans (id, project_id, instance_id, kind, scan_type, status, created_at, started_at, finished_at, num, keys,
    fail_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const SCAN_WITH_TASK = 'SELECT s.*, t.status AS task_status, t.fail_reason AS task_fail_reason, t.finished_at AS task_finished_at FROM key_scans s LEFT JOIN tasks t ON t.id = s.id';
/** A scan in flight whose task has ended was interrupted for good: it reads as failed. */
const SCAN_STATUS = `CASE WHEN s.status IN ('waiting','running') AND (t.status IS NULL OR t.status NOT IN ('CREATED','WAITING','EXECUTING'))
  THEN 'failed' ELSE s.status END`;
/** id */
export const scanById = `${SCAN_WITH_TASK} WHERE s.id = ?`;
/** Parameters: instance_id, kind, status, status (null = any) */
const scanFilter = `s.instance_id = ? AND s.kind = ? AND (? IS NULL OR ${SCAN_STATUS} = ?)`;
/** scanFilter's parameters */
export const countScans = `SELECT COUNT(*) AS n, COALESCE(SUM(s.num), 0) AS total FROM key_scans s LEFT JOIN tasks t ON t.id = s.id WHERE ${scanFilter}`;
/** scanFilter's parameters, limit, offset */
export const pageOfScans = `${SCAN_WITH_TASK} WHERE ${scanFilter} ORDER BY s.created_at DESC, s.id DESC LIMIT ? OFFSET ?`;
/** the columns' values, then id, owner, now */
export const patchScanAsTask = (columns: string[]) => patchRecordAsTask('key_scans', columns);
/** instance_id, kind */
export const countScansOfKind = 'SELECT COUNT(*) AS n FROM key_scans WHERE instance_id = ? AND kind = ?';
/** The oldest finished scans of a kind (their task has ended, whatever the record says). instance_id, kind, how many */
export const trimScans = `DELETE FROM key_scans WHERE id IN (SELECT s.id FROM key_scans s LEFT JOIN tasks t ON t.id = s.id
  WHERE s.instance_id = ? AND s.kind = ? AND (t.status IS NULL OR t.status NOT IN ('CREATED','WAITING','EXECUTING')) ORDER BY s.created_at, s.id LIMIT ?)`;
/** id */
export const deleteScan = 'DELETE FROM key_scans WHERE id = ?';
/** instance_id, kind */
export const autoscanConfigOf = 'SELECT * FROM autoscan_configs WHERE instance_id = ? AND kind = ?';
/** instance_id, kind, config, updated_at */
export const putAutoscanConfig = `INSERT INTO autoscan_configs (instance_id, kind, config, updated_at) VALUES (?, ?, ?, ?)
  ON CONFLICT (instance_id, kind) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at`;

/** Every autoscan configuration of an existing instance (the scheduler's list). */
export const autoscanConfigsOfInstances = 'SELECT c.* FROM autoscan_configs c JOIN instances i ON i.id = c.instance_id';

// ---- what goes with a deleted instance ----

/** Deleting an instance removes its records, their engine tasks and its autoscan configurations (records.md §6). instance_id, each */
export const recordsOfInstanceDeletes = [
  'DELETE FROM backups WHERE instance_id = ?',
  'DELETE FROM restores WHERE instance_id = ?',
  'DELETE FROM key_scans WHERE instance_id = ?',
  'DELETE FROM autoscan_configs WHERE instance_id = ?',
  'DELETE FROM tasks WHERE instance_id = ? AND record_kind IS NOT NULL',
];

// ---- automatic backups ----

/** A record that never ran (an automatic backup section 6 forbade): inserted once per id. backupValues order */
export const insertBackupIfAbsent = `INSERT INTO backups (id, project_id, instance_id, name, period, size, backup_type, format, status, progress,
    error_code, remark, file_name, created_at, updated_at, execution_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`;
/** Automatic backups past their retention: status expired. updated_at, instance_id, created before; returns the ids */
export const expireAutoBackups = `UPDATE backups SET status = 'expired', updated_at = ? WHERE instance_id = ? AND backup_type = 'auto' AND status = 'succeed'
  AND created_at < ? RETURNING id`;
