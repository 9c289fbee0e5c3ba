/**
 * Every SQL statement of the PostgreSQL store, by name (as pg-boss's plans.js): the store calls
 * these and holds no SQL of its own. Parameters are numbered; each comment lists them.
 */
import { INSTANCE_COLUMNS, instanceAssignments } from '../rows.js';
import { locateSecondSql } from '../task-counts.js';
import { MIGRATION_COLUMNS } from '../migration-rows.js';

const ACTIVE = `status IN ('CREATED','WAITING','EXECUTING')`;
/** Tasks that hold an instance's one active-task slot: background tasks, backups, restores, migration runs (not key scans). */
const SLOT = `(record_kind IS NULL OR record_kind IN ('backup','restore','migration'))`;
/** The lease fence: the task row (its columns prefixed by `t`) held by `owner`, unexpired at `now` (SQL expressions). */
const leaseHeld = (owner: string, now: string, t = '') => `${t}lease_owner = ${owner} AND ${t}status = 'EXECUTING' AND ${t}lease_expires_at > ${now}`;
/** The lease fence, with the owner and now as parameters $o and $n. */
const fence = (o: number, n: number) => leaseHeld(`$${o}`, `$${n}`);

export const CHANNEL = 'dcs_tasks';

/** Several nodes may start at once: one applies the migrations, the others wait and find them done. $1 lock name */
export const lockMigrations = 'SELECT pg_advisory_xact_lock(hashtext($1))';
export const createSchema = (schema: string) => `CREATE SCHEMA IF NOT EXISTS ${schema}`;
export const createMigrationsTable = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)';
export const appliedMigrations = 'SELECT version FROM schema_migrations';
/** $1 version, $2 applied_at */
export const recordMigration = 'INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)';
export const listen = `LISTEN ${CHANNEL}`;
export const notify = `NOTIFY ${CHANNEL}`;
export const begin = 'BEGIN';
export const commit = 'COMMIT';
export const rollback = 'ROLLBACK';

// ---- instances ----

/** INSTANCE_COLUMNS in order */
export const insertInstance = `INSERT INTO instances (${INSTANCE_COLUMNS.join(',')}) VALUES (${INSTANCE_COLUMNS.map((_, k) => `$${k + 1}`).join(',')})`;
/**
 * Held until the transaction ends: creates of one project's instances, on any node, count and
 * insert one at a time, so none overruns the quota. $1 project_id
 */
export const lockInstancesOfProject = "SELECT pg_advisory_xact_lock(hashtext('dcs-tasks:instances-of:' || $1))";
/** $1 project_id */
export const countInstancesOfProject = 'SELECT COUNT(*) AS n FROM instances WHERE project_id = $1';
/** Held by a managed create from its port check to its commit (after the project's lock, always). */
export const lockManagedPorts = "SELECT pg_advisory_xact_lock(hashtext('dcs-tasks:managed-ports'))";
/** Every managed instance's nodes and port claim, the claim while the instance has an unfinished task (as in SQLite's plans). */
export const managedNodes = `SELECT nodes, CASE WHEN EXISTS (SELECT 1 FROM tasks t WHERE t.instance_id = instances.id AND t.${ACTIVE})
  THEN extra::jsonb ->> 'reserved_port' END AS reserved_port FROM instances WHERE managed`;
/** $1 id, $2 project_id */
export const instanceInProject = 'SELECT * FROM instances WHERE id = $1 AND project_id = $2';
/** The row lock that serialises task creation and instance deletion. $1 id, $2 project_id */
export const lockInstance = 'SELECT status FROM instances WHERE id = $1 AND project_id = $2 FOR UPDATE';
/** $1 id */
export const instanceById = 'SELECT * FROM instances WHERE id = $1';
/** $1 project_id */
export const instancesOfProject = 'SELECT * FROM instances WHERE project_id = $1 ORDER BY created_at DESC, id DESC';
export const allInstances = 'SELECT * FROM instances ORDER BY created_at';
/** the columns' values, then id */
export const patchInstance = (columns: string[]) =>
  `UPDATE instances SET ${instanceAssignments(columns, (k) => `$${k + 1}`, (keys) =>
    `(extra::jsonb || jsonb_build_object(${keys.map(([k, p]) => `'${k}', ${p}::jsonb`).join(', ')}))::text`)} WHERE id = $${columns.length + 1}`;
/** The columns' values, then id, the statuses allowed (an array, or null: any), and with `extraKey` the JSON that key must hold (null: absent). */
export const patchInstanceIf = (columns: string[], extraKey: string | null) => {
  const n = columns.length;
  return `${patchInstance(columns)} AND ($${n + 2}::text[] IS NULL OR status = ANY($${n + 2}::text[]))` +
    (extraKey === null ? '' : ` AND (extra::jsonb -> '${extraKey}') IS NOT DISTINCT FROM $${n + 3}::jsonb`);
};
/**
 * The columns' values, then id, task id, owner, now. FOR SHARE holds off a takeover (whose claim
 * locks the task row) until this write commits.
 */
export const patchInstanceAsTask = (columns: string[]) => {
  const k = columns.length;
  return `${patchInstance(columns)} AND EXISTS (SELECT 1 FROM tasks WHERE id = $${k + 2} AND ${fence(k + 3, k + 4)} FOR SHARE)`;
};
/** $1 id */
export const deleteInstance = 'DELETE FROM instances WHERE id = $1';

// ---- tasks ----

/** $1 instance_id */
export const activeTaskOf = `SELECT * FROM tasks WHERE instance_id = $1 AND ${ACTIVE} AND ${SLOT}`;
/** The unfinished task that keeps an instance from being deleted: a slot holder first, else a key scan. $1 instance_id */
export const anyActiveTaskOf = `SELECT * FROM tasks WHERE instance_id = $1 AND ${ACTIVE} ORDER BY CASE WHEN ${SLOT} THEN 0 ELSE 1 END LIMIT 1`;
/** $1 project_id */
export const activeTasksOfProject = `SELECT * FROM tasks WHERE project_id = $1 AND ${ACTIVE} AND ${SLOT} ORDER BY created_at, id`;
/** $1 id … $11 created_at (see the column list), $12 status */
export const insertTask = `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $12, $10, $11, $11)`;
/**
 * Creates tasks of distinct instances in one statement, each by the create_task function (schema
 * version 15), one after another in array order. Arrays: $1 id … $11 created_at as insertTask,
 * $12 status, $13 step names and $14 refused instance statuses (each a JSON array text). Rows in
 * request order.
 */
export const createTasks = `SELECT c.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[], $14::text[]) WITH ORDINALITY
    AS b(id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, state, created_at, status, steps, refuse, ord)
  CROSS JOIN LATERAL create_task(b.id, b.project_id, b.instance_id, b.instance_name, b.name, b.details, b.user_id, b.user_name,
    b.params, b.state, b.created_at, b.status, ARRAY(SELECT json_array_elements_text(b.steps::json)), ARRAY(SELECT json_array_elements_text(b.refuse::json))) c
  ORDER BY b.ord`;
/** $1 task_id, $2 names (text[]): one WAITING step each, idx in array order */
export const insertSteps = `INSERT INTO task_steps (task_id, idx, name, status)
  SELECT $1, s.ord - 1, s.name, 'WAITING' FROM unnest($2::text[]) WITH ORDINALITY AS s(name, ord)`;
/** $1 id */
export const taskById = 'SELECT * FROM tasks WHERE id = $1';
/** A background task (not a record's engine task). $1 id */
export const backgroundTaskById = 'SELECT * FROM tasks WHERE id = $1 AND record_kind IS NULL';
/** $1 task ids (text[]) */
export const stepsOf = 'SELECT * FROM task_steps WHERE task_id = ANY($1) ORDER BY task_id, idx';

export interface TaskFilter { projectId: string; instanceId?: string; from?: number; to?: number }

function taskFilter(f: TaskFilter): { where: string; args: unknown[] } {
  const args: unknown[] = [f.projectId];
  const where = ['project_id = $1', 'record_kind IS NULL'];
  if (f.instanceId) { args.push(f.instanceId); where.push(`instance_id = $${args.length}`); }
  if (f.from !== undefined) { args.push(f.from); where.push(`created_at >= $${args.length}`); }
  if (f.to !== undefined) { args.push(f.to); where.push(`created_at <= $${args.length}`); }
  return { where: where.join(' AND '), args };
}

export function countTasks(f: TaskFilter) {
  const { where, args } = taskFilter(f);
  return { sql: `SELECT COUNT(*) AS n FROM tasks WHERE ${where}`, args };
}

/**
 * A page of tasks, each with its steps as JSON (`steps_json`): one round trip. The steps are
 * read for the page's rows only (outside the LIMIT, not for the rows the OFFSET skips).
 */
export function pageOfTasks(f: TaskFilter, limit: number, offset: number) {
  const { where, args } = taskFilter(f);
  const n = args.length;
  return {
    sql: `SELECT p.*, (SELECT json_agg(row_to_json(s.*) ORDER BY s.idx) FROM task_steps s WHERE s.task_id = p.id) AS steps_json
      FROM (SELECT * FROM tasks WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${n + 1} OFFSET $${n + 2}) p
      ORDER BY p.created_at DESC, p.id DESC`,
    args: [...args, limit, offset],
  };
}

/**
 * Sums of task_counts buckets (see store/task-counts.ts), one row per range, in order.
 * $1 project_id, $2 instance_id ('' = the project), $3 ranges as a JSON array of [span, from, to]
 */
export const sumTaskBuckets = `SELECT COALESCE((SELECT SUM(c.n) FROM task_counts c WHERE c.project_id = $1 AND c.instance_id = $2
    AND c.span = (r.v ->> 0)::int AND c.bucket >= (r.v ->> 1)::bigint AND c.bucket < (r.v ->> 2)::bigint), 0) AS n
  FROM json_array_elements($3::json) WITH ORDINALITY AS r(v, k) ORDER BY r.k`;
/** locateSecond's statement for a walk starting at buckets of `span` (see task-counts.ts). */
export const locateTaskSecond = (span: number): string => locateSecondSql(span, (n) => `$${n}`);

/**
 * Several deletes of finished tasks in one statement (postgres/delete-batch.ts), so in one
 * transaction: each task goes and its audit row comes together, and of two concurrent deletes only
 * one sees the row. With an instance, that instance must still exist. Arrays, one element per delete: $1 id,
 * $2 project_id, $3 instance_id or null, $4 actor_id, $5 actor_name, $6 message, $7 deleted_at.
 * Returns the ids deleted.
 */
export const deleteFinishedTasks = `WITH req AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
      AS r(id, project_id, instance_id, actor_id, actor_name, message, deleted_at)),
  d AS (
    DELETE FROM tasks t USING req
    WHERE t.id = req.id AND t.project_id = req.project_id AND t.status IN ('SUCCESS','FAILED') AND t.record_kind IS NULL
      AND (req.instance_id IS NULL OR (t.instance_id = req.instance_id
        AND EXISTS (SELECT 1 FROM instances i WHERE i.id = req.instance_id AND i.project_id = req.project_id)))
    RETURNING t.project_id, t.id, t.instance_id, t.name, t.status, req.actor_id, req.actor_name, req.message, req.deleted_at),
  a AS (
    INSERT INTO task_audit (project_id, task_id, instance_id, task_name, last_status, actor_id, actor_name, message, deleted_at)
    SELECT project_id, id, instance_id, name, status, actor_id, actor_name, message, deleted_at FROM d RETURNING task_id)
  SELECT task_id FROM a`;
/** Why a delete found nothing to delete. $1 id, $2 project_id, $3 instance_id or null */
export const unfinishedTaskExists = `SELECT 1 FROM tasks WHERE id = $1 AND project_id = $2 AND ($3::text IS NULL OR instance_id = $3)
  AND status NOT IN ('SUCCESS','FAILED') AND record_kind IS NULL`;
/** $1 project_id */
export const auditOfProject = 'SELECT * FROM task_audit WHERE project_id = $1 ORDER BY id';
/**
 * Retention: at most $6 finished tasks (record tasks too) that finished before $1 go, the
 * ordinary ones audited (record tasks are not: their records keep the outcome). Found name by
 * name through tasks_name_finished — the names by a loose index scan, then a range of finished_at
 * per name — so a purge with nothing to do reads a few index pages, not every finished task.
 * Rows another node's purge holds are skipped (its chunk takes them), not waited for.
 * Answers how many went. $1 before, $2 actor_id, $3 actor_name, $4 message, $5 deleted_at, $6 limit
 */
export const purgeFinishedBefore = `WITH RECURSIVE names(name) AS (
    SELECT MIN(name) FROM tasks
    UNION ALL
    SELECT (SELECT MIN(t.name) FROM tasks t WHERE t.name > names.name) FROM names WHERE names.name IS NOT NULL),
  expired AS (
    SELECT t.id FROM names JOIN tasks t ON t.name = names.name
    WHERE t.finished_at < $1 AND t.status IN ('SUCCESS','FAILED') LIMIT $6
    FOR UPDATE OF t SKIP LOCKED),
  d AS (
    DELETE FROM tasks WHERE id IN (SELECT id FROM expired) AND status IN ('SUCCESS','FAILED')
    RETURNING project_id, id, instance_id, name, status, record_kind),
  a AS (
    INSERT INTO task_audit (project_id, task_id, instance_id, task_name, last_status, actor_id, actor_name, message, deleted_at)
    SELECT project_id, id, instance_id, name, status, $2, $3, $4, $5 FROM d WHERE record_kind IS NULL)
  SELECT COUNT(*) AS n FROM d`;
/** $1 name, $2 limit */
export const recentDurations = `SELECT finished_at - started_at AS d FROM tasks WHERE name = $1 AND status = 'SUCCESS' AND started_at IS NOT NULL
  ORDER BY finished_at DESC LIMIT $2`;
export const countTasksByStatus = 'SELECT status, COUNT(*) AS n FROM tasks GROUP BY status';

// ---- the engine ----

/** $1 owner, $2 lease_expires_at, $3 now, $4 nodeId or null, $5 limit */
export const claimTasks = `UPDATE tasks SET status = 'EXECUTING', lease_owner = $1, lease_expires_at = $2, started_at = COALESCE(started_at, $3),
    attempts = attempts + 1, updated_at = $3
  WHERE id IN (
    SELECT t.id FROM tasks t LEFT JOIN instances i ON i.id = t.instance_id
    WHERE (t.status = 'CREATED' OR (t.status IN ('WAITING','EXECUTING') AND (t.lease_expires_at IS NULL OR t.lease_expires_at < $3)))
      AND ($4::text IS NULL OR i.id IS NULL OR NOT i.managed OR i.owner_node IS NULL OR i.owner_node = $4)
    ORDER BY t.created_at, t.id LIMIT $5
    FOR UPDATE OF t SKIP LOCKED)
  RETURNING *`;
/** $1 lease_expires_at, $2 ids (text[]), $3 owner, $4 now */
export const renewLeases = `UPDATE tasks SET lease_expires_at = $1 WHERE id = ANY($2) AND ${fence(3, 4)} RETURNING id`;
/** Leases of earlier incarnations of a node (owners `node/…`). $1 node */
export const releaseNodeLeases = `UPDATE tasks SET lease_expires_at = 0
  WHERE ${ACTIVE} AND lease_owner IS NOT NULL AND left(lease_owner, length($1) + 1) = $1 || '/'`;
/**
 * For several tasks in one statement, each row fenced by its own owner and now: the step found by
 * name (updated), or appended after the last one when the task has no step of that name. Each
 * optional column is written only when its flag is true.
 * $1 ids, $2 owners, $3 nows, $4 step names, $5 statuses, $6 set begin_at?, $7 begin_at,
 * $8 set end_at?, $9 end_at, $10 set error_code?, $11 error_code (arrays). Returns the ids owned.
 */
export const updateStepsByName = `WITH b AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::boolean[], $7::bigint[], $8::boolean[], $9::bigint[], $10::boolean[], $11::text[])
      AS b(id, owner, now, name, status, set_begin, begin_at, set_end, end_at, set_error, error_code)),
  owned AS (
    UPDATE tasks t SET updated_at = b.now FROM b
    WHERE t.id = b.id AND ${leaseHeld('b.owner', 'b.now', 't.')} RETURNING t.id),
  updated AS (
    UPDATE task_steps s SET status = b.status,
      begin_at = CASE WHEN b.set_begin THEN b.begin_at ELSE s.begin_at END,
      end_at = CASE WHEN b.set_end THEN b.end_at ELSE s.end_at END,
      error_code = CASE WHEN b.set_error THEN b.error_code ELSE s.error_code END
    FROM b JOIN owned o ON o.id = b.id WHERE s.task_id = b.id AND s.name = b.name RETURNING 1),
  appended AS (
    INSERT INTO task_steps (task_id, idx, name, status, begin_at, end_at, error_code)
    SELECT b.id, (SELECT COALESCE(MAX(idx) + 1, 0) FROM task_steps WHERE task_id = b.id), b.name, b.status, b.begin_at, b.end_at, b.error_code
    FROM b JOIN owned o ON o.id = b.id WHERE NOT EXISTS (SELECT 1 FROM task_steps WHERE task_id = b.id AND name = b.name) RETURNING 1)
  SELECT id FROM owned`;
/**
 * finishTask for several tasks in one statement (each row fenced by its own owner and now).
 * $1 ids, $2 owners, $3 statuses, $4 error_codes, $5 fail_reasons, $6 nows. Returns the ids finished.
 */
export const finishTasks = `WITH finished AS (
    UPDATE tasks t SET status = b.status, error_code = b.error_code, fail_reason = b.fail_reason,
      finished_at = b.now, updated_at = b.now, lease_owner = NULL, lease_expires_at = NULL
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS b(id, owner, status, error_code, fail_reason, now)
    WHERE t.id = b.id AND ${leaseHeld('b.owner', 'b.now', 't.')}
    RETURNING t.id, t.status, t.error_code, t.finished_at),
  failed_steps AS (
    UPDATE task_steps s SET status = 'FAILED', end_at = f.finished_at, error_code = f.error_code
    FROM finished f WHERE s.task_id = f.id AND f.status = 'FAILED' AND s.status = 'EXECUTING')
  SELECT id FROM finished`;
/** $1 state or null, $2 details or null, $3 now, $4 id, $5 owner */
export const updateTaskState = `UPDATE tasks SET state = COALESCE($1, state), details = COALESCE($2, details), updated_at = $3
  WHERE id = $4 AND ${fence(5, 3)}`;

// ---- service nodes ----

/** $1 node, $2 now */
/** A node's claim, held by one connection for the process's life (two keys: the schema, the node id). */
export const claimNode = 'SELECT pg_try_advisory_lock(hashtext(current_schema()), hashtext($1)) AS claimed';

export const heartbeatNode = `INSERT INTO service_nodes (node, started_at, heartbeat_at) VALUES ($1, $2, $2)
  ON CONFLICT (node) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at, stopped_at = NULL`;
/** $1 node, $2 now */
export const markNodeStopped = 'UPDATE service_nodes SET stopped_at = $2, heartbeat_at = $2 WHERE node = $1';
/** The nodes that have not said they stopped, with their last heartbeat. */
export const nodeHeartbeats = 'SELECT node, heartbeat_at FROM service_nodes WHERE stopped_at IS NULL';
/** $1 now, $2 stale before */
export const orphanedTasks = `SELECT t.id, t.name, i.owner_node,
    (SELECT s.name FROM task_steps s WHERE s.task_id = t.id AND s.status = 'FINISH' ORDER BY s.idx DESC LIMIT 1) AS last_step
  FROM tasks t JOIN instances i ON i.id = t.instance_id
  LEFT JOIN service_nodes n ON n.node = i.owner_node
  WHERE t.${ACTIVE} AND i.managed AND i.owner_node IS NOT NULL
    AND (t.lease_expires_at IS NULL OR t.lease_expires_at < $1)
    AND (n.heartbeat_at IS NULL OR n.heartbeat_at < $2) AND n.stopped_at IS NULL
  FOR UPDATE OF t SKIP LOCKED`;
/** $1 task id, $2 now, $3 error code */
export const failRunningSteps = `UPDATE task_steps SET status = 'FAILED', end_at = $2, error_code = $3 WHERE task_id = $1 AND status = 'EXECUTING'`;
/** $1 task id, $2 reason, $3 now, $4 error code */
export const failOrphan = `UPDATE tasks SET status = 'FAILED', error_code = $4, fail_reason = $2, finished_at = $3, updated_at = $3,
    lease_owner = NULL, lease_expires_at = NULL WHERE id = $1`;

// ---- credentials and tokens ----

/** $1 access_key, $2 at */
export const recordCredentialUse = `INSERT INTO credential_use (access_key, last_used_at, use_count) VALUES ($1, $2, 1)
  ON CONFLICT (access_key) DO UPDATE SET last_used_at = EXCLUDED.last_used_at, use_count = credential_use.use_count + 1`;
/** $1 node */
export const deleteNodeCredentials = 'DELETE FROM credentials WHERE node = $1';
/** $1 node, $2 access_key, $3 secret_key, $4 project_id, $5 user_id, $6 user_name, $7 role, $8 published_at */
export const insertCredential = `INSERT INTO credentials (node, access_key, secret_key, project_id, user_id, user_name, role, published_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;
export const listCredentials = 'SELECT DISTINCT ON (access_key) * FROM credentials ORDER BY access_key, published_at DESC, node';
/** $1 hash, $2 access_key, $3 expires_at, $4 created_at */
export const insertToken = 'INSERT INTO tokens (hash, access_key, expires_at, created_at) VALUES ($1, $2, $3, $4)';
/** $1 hash */
export const tokenByHash = 'SELECT * FROM tokens WHERE hash = $1';

// ---- DCS records (backups, restores) ----

/** A record's engine task (no background task: not listed, not counted). $1–$11 as insertTask, $12 record_kind, $13 status */
export const insertRecordTask = `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state, created_at, updated_at, record_kind)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $13, $10, $11, $11, $12)`;
/** The name of the instance's unfinished task (any kind). $1 instance_id */
export const activeTaskNameOf = `SELECT name FROM tasks WHERE instance_id = $1 AND ${ACTIVE} AND ${SLOT}`;
/** backupValues order */
export const insertBackup = `INSERT INTO backups (id, project_id, instance_id, name, period, size, backup_type, format, status, progress,
    error_code, remark, file_name, created_at, updated_at, execution_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`;
/** Records with their task's status (an in-flight record whose task ended was interrupted). */
const BACKUP_WITH_TASK = 'SELECT b.*, t.status AS task_status FROM backups b LEFT JOIN tasks t ON t.id = b.id';
/** $1 id */
export const backupById = `${BACKUP_WITH_TASK} WHERE b.id = $1`;
/** $1 id: the row lock that serialises a backup's delete and a restore from it */
export const lockBackup = `${BACKUP_WITH_TASK} WHERE b.id = $1 FOR UPDATE OF b`;
/** A record list's window on created_at (alias `a`): $1 instance_id, $2 from or null, $3 to or null */
const recordWindow = (a: string) => `${a}.instance_id = $1 AND ($2::bigint IS NULL OR ${a}.created_at >= $2) AND ($3::bigint IS NULL OR ${a}.created_at <= $3)`;
/** recordWindow's parameters */
export const countBackups = `SELECT COUNT(*) AS n FROM backups b WHERE ${recordWindow('b')}`;
/** recordWindow's parameters, $4 limit, $5 offset */
export const pageOfBackups = `${BACKUP_WITH_TASK} WHERE ${recordWindow('b')} ORDER BY b.created_at DESC, b.id DESC LIMIT $4 OFFSET $5`;
/** A record written by its own task (same id), fenced; FOR SHARE holds off a takeover. The columns' values, then id, owner, now */
const patchRecordAsTask = (table: 'backups' | 'restores' | 'key_scans', columns: string[]) => {
  const k = columns.length;
  return `UPDATE ${table} SET ${columns.map((c, j) => `${c} = $${j + 1}`).join(', ')} WHERE id = $${k + 1}
    AND EXISTS (SELECT 1 FROM tasks WHERE id = ${table}.id AND ${fence(k + 2, k + 3)} FOR SHARE)`;
};
/** the columns' values, then id, owner, now */
export const patchBackupAsTask = (columns: string[]) => patchRecordAsTask('backups', columns);
/** $1 updated_at, $2 id */
export const markBackupDeleted = `UPDATE backups SET status = 'deleted', updated_at = $1 WHERE id = $2`;
/** A restore from this backup still in flight. $1 backup_id */
export const restoreInFlightFrom = `SELECT 1 FROM restores r JOIN tasks t ON t.id = r.id WHERE r.backup_id = $1 AND t.${ACTIVE}`;
/** restoreValues order */
export const insertRestore = `INSERT INTO restores (id, project_id, instance_id, backup_id, backup_name, backup_remark, status, progress, error_code,
    remark, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;
const RESTORE_WITH_TASK = 'SELECT r.*, t.status AS task_status FROM restores r LEFT JOIN tasks t ON t.id = r.id';
/** $1 id */
export const restoreById = `${RESTORE_WITH_TASK} WHERE r.id = $1`;
/** recordWindow's parameters */
export const countRestores = `SELECT COUNT(*) AS n FROM restores r WHERE ${recordWindow('r')}`;
/** recordWindow's parameters, $4 limit, $5 offset */
export const pageOfRestores = `${RESTORE_WITH_TASK} WHERE ${recordWindow('r')} ORDER BY r.created_at DESC, r.id DESC LIMIT $4 OFFSET $5`;
/** the columns' values, then id, owner, now */
export const patchRestoreAsTask = (columns: string[]) => patchRecordAsTask('restores', columns);
/** $1 project_id … $9 at (see the column list) */
export const insertRecordAudit = `INSERT INTO record_audit (project_id, instance_id, record_kind, record_id, action, last_status, actor_id, actor_name, at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;

// ---- data migrations (automation.md §4) ----

/** MIGRATION_COLUMNS in order */
export const insertMigration = `INSERT INTO migrations (${MIGRATION_COLUMNS.join(',')}) VALUES (${MIGRATION_COLUMNS.map((_, k) => `$${k + 1}`).join(',')})`;
/** $1 id, $2 project_id */
export const migrationInProject = 'SELECT * FROM migrations WHERE id = $1 AND project_id = $2';
/** The row lock that serialises a migration's runs, stops and deletes. $1 id, $2 project_id */
export const lockMigration = 'SELECT * FROM migrations WHERE id = $1 AND project_id = $2 FOR UPDATE';
/** $1 id */
export const migrationById = 'SELECT * FROM migrations WHERE id = $1';
/** $1 project_id, $2 name or null */
export const countMigrations = `SELECT COUNT(*) AS n FROM migrations WHERE project_id = $1 AND ($2::text IS NULL OR strpos(name, $2) > 0)`;
/** $1 project_id, $2 name or null, $3 limit, $4 offset */
export const pageOfMigrations = `SELECT * FROM migrations WHERE project_id = $1 AND ($2::text IS NULL OR strpos(name, $2) > 0)
  ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4`;
/** $1 migration ids (text[]) */
export const latestMigrationErrors = `SELECT DISTINCT ON (migration_id) migration_id, message FROM migration_logs
  WHERE level = 'ERROR' AND migration_id = ANY($1) ORDER BY migration_id, id DESC`;
/** The columns' values, then id */
export const patchMigration = (columns: string[]) =>
  `UPDATE migrations SET ${columns.map((c, k) => `${c} = $${k + 1}`).join(', ')} WHERE id = $${columns.length + 1}`;
/** The columns' values, then id, run (task) id, owner, now. FOR SHARE holds off a takeover until this write commits. */
export const patchMigrationAsRun = (columns: string[]) => {
  const k = columns.length;
  return `${patchMigration(columns)} AND run_id = $${k + 2} AND EXISTS (SELECT 1 FROM tasks WHERE id = $${k + 2} AND ${fence(k + 3, k + 4)} FOR SHARE)`;
};
/** A job that is over when it is created (createMigrationTask). $1 id, $2 project_id, $3 instance_id, $4 instance_name, $5 name, $6 user_id, $7 user_name, $8 params, $9 now */
export const insertFinishedTask = `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state,
    created_at, updated_at, started_at, finished_at)
  VALUES ($1, $2, $3, $4, $5, '{}', $6, $7, $8, 'SUCCESS', '{}', $9, $9, $9, $9)`;
/** $1 project_id, $2 instance_id: the finished tasks (runs, jobs) of a migration, found through the (project, instance) index */
export const deleteFinishedTasksOf = `DELETE FROM tasks WHERE project_id = $1 AND instance_id = $2 AND status IN ('SUCCESS','FAILED')`;
/** $1 id */
export const deleteMigration = 'DELETE FROM migrations WHERE id = $1';
/** $1 migration_id */
export const deleteMigrationLogs = 'DELETE FROM migration_logs WHERE migration_id = $1';
/** $1 project_id, $2 task_id, $3 instance_id, $4 task_name, $5 last_status, $6 actor_id, $7 actor_name, $8 message, $9 deleted_at */
export const insertAudit = `INSERT INTO task_audit (project_id, task_id, instance_id, task_name, last_status, actor_id, actor_name, message, deleted_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
/** $1 migration_id, $2 created_at, $3 level, $4 code, $5 message */
export const insertMigrationLog = 'INSERT INTO migration_logs (migration_id, created_at, level, code, message) VALUES ($1, $2, $3, $4, $5)';
/** $1 migration_id, $2 level or null */
export const countMigrationLogs = 'SELECT COUNT(*) AS n FROM migration_logs WHERE migration_id = $1 AND ($2::text IS NULL OR level = $2)';
/** $1 migration_id, $2 level or null, $3 limit, $4 offset */
export const pageOfMigrationLogs = `SELECT * FROM migration_logs WHERE migration_id = $1 AND ($2::text IS NULL OR level = $2)
  ORDER BY id DESC LIMIT $3 OFFSET $4`;
/** $1 instance id: a migration that keeps the instance from being deleted */
export const runningMigrationOfInstance = `SELECT id FROM migrations
  WHERE status IN ('MIGRATING','INCRMIGEATING') AND (source_instance_id = $1 OR target_instance_id = $1) LIMIT 1`;
/** An instance a run is about to use stays until the run is recorded. $1 id, $2 project_id */
export const shareInstance = 'SELECT 1 FROM instances WHERE id = $1 AND project_id = $2 FOR SHARE';

/** The project's audit rows, as counted by the trigger of migration 18. */
export const auditCountOfProject = 'SELECT COALESCE((SELECT n FROM audit_counts WHERE project_id = $1), 0) AS n';
/**
 * A page of the audit, newest first: the offset is walked in the (project_id, id) index alone
 * (an OFFSET over the rows themselves reads every row it skips), then the page read from there.
 * $1 project_id, $2 offset, $3 limit
 */
export const auditPageOfProject = `SELECT * FROM task_audit WHERE project_id = $1
    AND id <= (SELECT id FROM task_audit WHERE project_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)
  ORDER BY id DESC LIMIT $3`;

/** A round trip that touches nothing (GET /health). */
export const ping = 'SELECT 1';

// ---- key scans (big-key, hot-key, expired-key) ----

/**
 * A key scan's engine task, its kind set in the insert itself so the one-scan-per-kind index
 * judges it (and the one-active-task index ignores it). A scheduled run's id is fixed per
 * slot: a second node creating it again inserts nothing. $1 id … $11 created_at as insertTask, $12 record_kind
 */
export const insertScanTask = `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state,
    created_at, updated_at, record_kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'CREATED', $10, $11, $11, $12)
  ON CONFLICT (id) DO NOTHING`;
/** $1 instance_id, $2 record_kind */
export const scanTaskInFlight = `SELECT 1 FROM tasks WHERE instance_id = $1 AND record_kind = $2 AND ${ACTIVE}`;
/** scanValues order */
export const insertScan = `INSERT INTO key_scans (id, project_id, instance_id, kind, scan_type, status, created_at, started_at, finished_at, num, keys,
    fail_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;
const SCAN_WITH_TASK = 'SELECT s.*, t.status AS task_status, t.fail_reason AS task_fail_reason, t.finished_at AS task_finished_at FROM key_scans s LEFT JOIN tasks t ON t.id = s.id';
/** A scan in flight whose task has ended was interrupted for good: it reads as failed. */
const SCAN_STATUS = `CASE WHEN s.status IN ('waiting','running') AND (t.status IS NULL OR t.status NOT IN ('CREATED','WAITING','EXECUTING'))
  THEN 'failed' ELSE s.status END`;
/** $1 id */
export const scanById = `${SCAN_WITH_TASK} WHERE s.id = $1`;
/** $1 instance_id, $2 kind, $3 status or null */
const scanFilter = `s.instance_id = $1 AND s.kind = $2 AND ($3::text IS NULL OR ${SCAN_STATUS} = $3)`;
/** scanFilter's parameters */
export const countScans = `SELECT COUNT(*) AS n, COALESCE(SUM(s.num), 0) AS total FROM key_scans s LEFT JOIN tasks t ON t.id = s.id WHERE ${scanFilter}`;
/** scanFilter's parameters, $4 limit, $5 offset */
export const pageOfScans = `${SCAN_WITH_TASK} WHERE ${scanFilter} ORDER BY s.created_at DESC, s.id DESC LIMIT $4 OFFSET $5`;
/** the columns' values, then id, owner, now */
export const patchScanAsTask = (columns: string[]) => patchRecordAsTask('key_scans', columns);
/** $1 instance_id, $2 kind */
export const countScansOfKind = 'SELECT COUNT(*) AS n FROM key_scans WHERE instance_id = $1 AND kind = $2';
/** The oldest finished scans of a kind (their task has ended, whatever the record says). $1 instance_id, $2 kind, $3 how many */
export const trimScans = `DELETE FROM key_scans WHERE id IN (SELECT s.id FROM key_scans s LEFT JOIN tasks t ON t.id = s.id
  WHERE s.instance_id = $1 AND s.kind = $2 AND (t.status IS NULL OR t.status NOT IN ('CREATED','WAITING','EXECUTING')) ORDER BY s.created_at, s.id LIMIT $3)`;
/** $1 id */
export const deleteScan = 'DELETE FROM key_scans WHERE id = $1';
/** $1 id: serialises two deletes of one scan */
export const lockScan = `${SCAN_WITH_TASK} WHERE s.id = $1 FOR UPDATE OF s`;
/** $1 instance_id, $2 kind */
export const autoscanConfigOf = 'SELECT * FROM autoscan_configs WHERE instance_id = $1 AND kind = $2';
/** $1 instance_id, $2 kind, $3 config, $4 updated_at */
export const putAutoscanConfig = `INSERT INTO autoscan_configs (instance_id, kind, config, updated_at) VALUES ($1, $2, $3, $4)
  ON CONFLICT (instance_id, kind) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at`;

/** Every autoscan configuration of an existing instance (the scheduler's list). */
export const autoscanConfigsOfInstances = 'SELECT c.* FROM autoscan_configs c JOIN instances i ON i.id = c.instance_id';

// ---- what goes with a deleted instance ----

/** Deleting an instance removes its records, their engine tasks and its autoscan configurations (records.md §6). $1 instance_id, each */
export const recordsOfInstanceDeletes = [
  'DELETE FROM backups WHERE instance_id = $1',
  'DELETE FROM restores WHERE instance_id = $1',
  'DELETE FROM key_scans WHERE instance_id = $1',
  'DELETE FROM autoscan_configs WHERE instance_id = $1',
  'DELETE FROM tasks WHERE instance_id = $1 AND record_kind IS NOT NULL',
];

// ---- automatic backups ----

/** A record that never ran (an automatic backup section 6 forbade): inserted once per id. backupValues order */
export const insertBackupIfAbsent = `INSERT INTO backups (id, project_id, instance_id, name, period, size, backup_type, format, status, progress,
    error_code, remark, file_name, created_at, updated_at, execution_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
  ON CONFLICT (id) DO NOTHING`;
/** Automatic backups past their retention: status expired. $1 updated_at, $2 instance_id, $3 created before; returns the ids */
export const expireAutoBackups = `UPDATE backups SET status = 'expired', updated_at = $1 WHERE instance_id = $2 AND backup_type = 'auto' AND status = 'succeed'
  AND created_at < $3 RETURNING id`;
