/**
 * The schema, written once for both dialects. Tables and column names are the same in SQLite and
 * PostgreSQL (rows.ts maps both); only a few column types differ, written here as placeholders
 * that each dialect's migrations replace. Versioned migrations: a version is applied once, in a
 * transaction together with its row in schema_migrations. Never edit a version that has shipped:
 * add the next one.
 */
export type Dialect = 'sqlite' | 'postgres';

/** The placeholders and what each dialect makes of them. */
const TYPES: Record<Dialect, Record<string, string>> = {
  sqlite: {
    '{TIME}': 'INTEGER', // epoch milliseconds
    '{REAL}': 'REAL',
    '{BOOL}': 'INTEGER',
    '{COUNT}': 'INTEGER',
    '{SERIAL}': 'INTEGER PRIMARY KEY AUTOINCREMENT',
    '{WITHOUT_ROWID}': ' WITHOUT ROWID',
    '{ON_TASKS}': '',
    // Migration 18: per audit row.
    '{AUDIT_COUNT_TRIGGER}': `CREATE TRIGGER task_audit_counted AFTER INSERT ON task_audit BEGIN
  INSERT INTO audit_counts (project_id, n) VALUES (NEW.project_id, 1)
  ON CONFLICT (project_id) DO UPDATE SET n = n + 1;
END;`,
  },
  postgres: {
    '{TIME}': 'BIGINT',
    '{REAL}': 'DOUBLE PRECISION',
    '{BOOL}': 'BOOLEAN',
    '{COUNT}': 'BIGINT',
    '{SERIAL}': 'BIGSERIAL PRIMARY KEY',
    '{WITHOUT_ROWID}': '',
    '{ON_TASKS}': ' ON tasks',
    // Migration 18: per statement (a batch of deletes audits many rows in one), one upsert per project.
    '{AUDIT_COUNT_TRIGGER}': `CREATE FUNCTION task_audit_counted() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO audit_counts AS c (project_id, n)
    SELECT project_id, COUNT(*) FROM added GROUP BY project_id ORDER BY project_id
  ON CONFLICT (project_id) DO UPDATE SET n = c.n + EXCLUDED.n;
  RETURN NULL;
END $f$;
CREATE TRIGGER task_audit_counted AFTER INSERT ON task_audit REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION task_audit_counted();`,
  },
};

/**
 * The triggers that keep task_counts (migration 14) in the transaction of every task insert and
 * delete, for the bucket spans given (seconds). SQLite: per row, one bucket row per span of the
 * instance and of the project. PostgreSQL: per statement over the transition table, one upsert per
 * bucket touched, in key order (so two transactions lock the shared counter rows in the same
 * order), which a batch of deletes pays once.
 */
function taskCountTriggers(dialect: Dialect, spans: readonly number[]): string {
  if (dialect === 'sqlite') {
    return `
CREATE TRIGGER tasks_counted_insert AFTER INSERT ON tasks BEGIN
  INSERT INTO task_counts (project_id, instance_id, span, bucket, n)
    SELECT NEW.project_id, sc.scope, sp.span, NEW.created_at / (1000 * sp.span) * sp.span, 1
    FROM (SELECT NEW.instance_id AS scope UNION ALL SELECT '') sc,
         (${spans.map((sp, k) => (k === 0 ? `SELECT ${sp} AS span` : `SELECT ${sp}`)).join(' UNION ALL ')}) sp
    WHERE NEW.record_kind IS NULL
  ON CONFLICT (project_id, instance_id, span, bucket) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER tasks_counted_delete AFTER DELETE ON tasks WHEN OLD.record_kind IS NULL BEGIN
${spans.map((sp) => `  UPDATE task_counts SET n = n - 1 WHERE project_id = OLD.project_id AND instance_id IN (OLD.instance_id, '')
    AND span = ${sp} AND bucket = OLD.created_at / ${sp === 1 ? '1000' : `${sp * 1000} * ${sp}`};`).join('\n')}
END;`;
  }
  return `
CREATE OR REPLACE FUNCTION task_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO task_counts AS c (project_id, instance_id, span, bucket, n)
    SELECT t.project_id, t.scope, sp.span, t.created_at / (1000 * sp.span) * sp.span,
           COUNT(*) * CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END
    FROM (SELECT project_id, instance_id AS scope, created_at FROM changed WHERE record_kind IS NULL
          UNION ALL SELECT project_id, '', created_at FROM changed WHERE record_kind IS NULL) t
    CROSS JOIN (VALUES ${spans.map((sp) => `(${sp})`).join(', ')}) sp(span)
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (project_id, instance_id, span, bucket) DO UPDATE SET n = c.n + EXCLUDED.n;
  RETURN NULL;
END $f$;
CREATE TRIGGER tasks_counted_insert AFTER INSERT ON tasks REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION task_counts_changed();
CREATE TRIGGER tasks_counted_delete AFTER DELETE ON tasks REFERENCING OLD TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION task_counts_changed();`;
}

/**
 * The placeholders that stand for the task-count triggers: as migration 14 created them (days,
 * hours, seconds), and as migration 17 re-creates them with minutes (src/store/task-counts.ts).
 */
const TRIGGER_PLACEHOLDERS: Record<string, readonly number[]> = {
  '{TASK_COUNT_TRIGGERS}': [86_400, 3_600, 1],
  '{TASK_COUNT_TRIGGERS_WITH_MINUTES}': [86_400, 3_600, 60, 1],
};

export interface Migration {
  version: number;
  sql: string;
}

interface SharedMigration {
  version: number;
  sql: string;
  /** Only this dialect has the tables (e.g. what several nodes share). */
  only?: Dialect;
}

const SHARED: SharedMigration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE instances (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  name TEXT NOT NULL,
  engine TEXT NOT NULL,
  engine_version TEXT NOT NULL,
  capacity_gb {REAL} NOT NULL,
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  status TEXT NOT NULL,
  managed {BOOL} NOT NULL,
  redis_url TEXT,
  password TEXT,
  pending_password TEXT,
  username TEXT,
  extra TEXT NOT NULL DEFAULT '{}',
  owner_node TEXT,
  created_at {TIME} NOT NULL,
  updated_at {TIME} NOT NULL
);
CREATE INDEX instances_project ON instances(project_id, created_at);

CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  instance_name TEXT NOT NULL,
  name TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '{}',
  user_id TEXT NOT NULL,
  user_name TEXT NOT NULL,
  params TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL,
  error_code TEXT,
  fail_reason TEXT,
  state TEXT NOT NULL DEFAULT '{}',
  created_at {TIME} NOT NULL,
  updated_at {TIME} NOT NULL,
  started_at {TIME},
  finished_at {TIME},
  lease_owner TEXT,
  lease_expires_at {TIME},
  attempts INTEGER NOT NULL DEFAULT 0
);
-- At most one unfinished task per instance: the store, not the caller, enforces the rule.
CREATE UNIQUE INDEX tasks_one_active ON tasks(instance_id) WHERE status IN ('CREATED','WAITING','EXECUTING');
CREATE INDEX tasks_project_created ON tasks(project_id, created_at DESC, id DESC);
CREATE INDEX tasks_instance_created ON tasks(instance_id, created_at DESC, id DESC);
CREATE INDEX tasks_runnable ON tasks(status, lease_expires_at);
CREATE INDEX tasks_name_finished ON tasks(name, finished_at);

CREATE TABLE task_steps (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  begin_at {TIME},
  end_at {TIME},
  error_code TEXT,
  PRIMARY KEY (task_id, idx)
){WITHOUT_ROWID};

CREATE TABLE task_audit (
  id {SERIAL},
  project_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  task_name TEXT NOT NULL,
  last_status TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  actor_name TEXT NOT NULL,
  message TEXT,
  deleted_at {TIME} NOT NULL
);
CREATE INDEX task_audit_project ON task_audit(project_id, deleted_at);

CREATE TABLE credential_use (
  access_key TEXT PRIMARY KEY,
  last_used_at {TIME} NOT NULL,
  use_count {COUNT} NOT NULL
);

CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  access_key TEXT NOT NULL,
  expires_at {TIME} NOT NULL,
  created_at {TIME} NOT NULL
);
`,
  },
  {
    version: 2,
    sql: `ALTER TABLE instances ADD COLUMN nodes TEXT NOT NULL DEFAULT '[]';`,
  },
  {
    // Credentials published by each node from its credentials file, so every node accepts them.
    // Service nodes' liveness: a managed instance whose node stops beating is shown ERROR and its
    // interrupted tasks are failed by the nodes still alive.
    version: 3,
    only: 'postgres',
    sql: `
CREATE TABLE credentials (
  node TEXT NOT NULL,
  access_key TEXT NOT NULL,
  secret_key TEXT NOT NULL,
  project_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  user_name TEXT NOT NULL,
  role TEXT NOT NULL,
  published_at {TIME} NOT NULL,
  PRIMARY KEY (node, access_key)
);
CREATE TABLE service_nodes (
  node TEXT PRIMARY KEY,
  started_at {TIME} NOT NULL,
  heartbeat_at {TIME} NOT NULL
);`,
  },
  {
    // Steps are found by name (an upgrade may change an operation's step list).
    version: 4,
    sql: `CREATE INDEX task_steps_name ON task_steps(task_id, name);`,
  },
  {
    // DCS records (backups, restores): each runs as an engine task whose id is the record's id.
    // record_kind marks those tasks, which never show as background tasks. The task row carries
    // the one-active-task rule, so a backup or restore and any operation exclude each other.
    version: 5,
    sql: `
ALTER TABLE tasks ADD COLUMN record_kind TEXT;
CREATE TABLE backups (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  name TEXT NOT NULL,
  period TEXT,
  size {COUNT},
  backup_type TEXT NOT NULL,
  format TEXT NOT NULL,
  status TEXT NOT NULL,
  progress {REAL} NOT NULL DEFAULT 0,
  error_code TEXT,
  remark TEXT,
  file_name TEXT,
  created_at {TIME} NOT NULL,
  updated_at {TIME} NOT NULL,
  execution_at {TIME}
);
CREATE INDEX backups_instance_created ON backups(instance_id, created_at DESC, id DESC);
CREATE TABLE restores (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  backup_id TEXT NOT NULL,
  backup_name TEXT NOT NULL,
  backup_remark TEXT,
  status TEXT NOT NULL,
  progress {REAL} NOT NULL DEFAULT 0,
  error_code TEXT,
  remark TEXT,
  created_at {TIME} NOT NULL,
  updated_at {TIME} NOT NULL
);
CREATE INDEX restores_instance_created ON restores(instance_id, created_at DESC, id DESC);
CREATE TABLE record_audit (
  id {SERIAL},
  project_id TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  record_kind TEXT NOT NULL,
  record_id TEXT NOT NULL,
  action TEXT NOT NULL,
  last_status TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  actor_name TEXT NOT NULL,
  at {TIME} NOT NULL
);`,
  },
  {
    // Key scans (big-key, hot-key, expired-key; records.md §3–5) run as engine tasks marked with
    // their kind, but block nothing: the one-active-task rule now counts only background tasks,
    // backups, restores and migration runs (whose instance_id is the migration: one run each),
    // and a second rule allows one scan of each kind per instance.
    // Autoscan configurations are stored per instance and kind as JSON.
    version: 6,
    sql: `
DROP INDEX tasks_one_active;
CREATE UNIQUE INDEX tasks_one_active ON tasks(instance_id)
  WHERE status IN ('CREATED','WAITING','EXECUTING') AND (record_kind IS NULL OR record_kind IN ('backup','restore','migration'));
CREATE UNIQUE INDEX tasks_one_scan ON tasks(instance_id, record_kind)
  WHERE status IN ('CREATED','WAITING','EXECUTING') AND record_kind IN ('bigkey','hotkey','expire');
CREATE TABLE key_scans (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  scan_type TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at {TIME} NOT NULL,
  started_at {TIME},
  finished_at {TIME},
  num {COUNT} NOT NULL DEFAULT 0,
  keys TEXT,
  fail_reason TEXT
);
CREATE INDEX key_scans_instance ON key_scans(instance_id, kind, created_at DESC, id DESC);
CREATE TABLE autoscan_configs (
  instance_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  config TEXT NOT NULL,
  updated_at {TIME} NOT NULL,
  PRIMARY KEY (instance_id, kind)
);`,
  },
  {
    // Issue 14: lists at a million tasks. Record tasks (record_kind, version 5) are not counted:
    // they never show as background tasks. The instance list walks (project, instance, time) in one
    // index; task counts are kept in buckets of a day, an hour and a second per instance and per
    // project (instance_id ''), updated by triggers in the same transaction as every insert and
    // delete of a task (a bulk load or a purge included), so an exact count and a deep offset read
    // a few bucket rows instead of scanning the tasks (src/store/task-counts.ts).
    // A task's project_id, instance_id and created_at never change after it is inserted.
    // Version 14 (not 5): other branches add versions 5+ in parallel; versions are applied as a set.
    version: 14,
    sql: `
CREATE INDEX tasks_project_instance_created ON tasks(project_id, instance_id, created_at DESC, id DESC);
DROP INDEX tasks_instance_created;
CREATE TABLE task_counts (
  project_id TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  span INTEGER NOT NULL,
  bucket {TIME} NOT NULL,
  n {COUNT} NOT NULL,
  PRIMARY KEY (project_id, instance_id, span, bucket)
){WITHOUT_ROWID};
{TASK_COUNT_TRIGGERS}
INSERT INTO task_counts (project_id, instance_id, span, bucket, n)
  SELECT t.project_id, t.scope, sp.span, t.created_at / (1000 * sp.span) * sp.span, COUNT(*)
  FROM (SELECT project_id, instance_id AS scope, created_at FROM tasks WHERE record_kind IS NULL
        UNION ALL SELECT project_id, '', created_at FROM tasks WHERE record_kind IS NULL) t
  CROSS JOIN (SELECT 86400 AS span UNION ALL SELECT 3600 UNION ALL SELECT 1) sp
  GROUP BY 1, 2, 3, 4;
`,
  },
  {
    // Data migrations (automation.md §4). Each run is an engine task whose instance_id is the
    // migration's id; the passwords a run needs live only in `secrets`. The instance columns let
    // an instance delete see, in its own transaction, that a running migration uses it.
    // Version 12 (issue 12), not 5: other branches add versions in parallel; versions are applied as a set.
    version: 12,
    sql: `
CREATE TABLE migrations (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  migration_type TEXT NOT NULL,
  migration_method TEXT,
  resume_mode TEXT NOT NULL,
  bandwidth_limit_mb INTEGER,
  status TEXT NOT NULL,
  stop_request TEXT,
  settings TEXT NOT NULL,
  secrets TEXT NOT NULL,
  progress TEXT NOT NULL,
  repl_offset {COUNT} NOT NULL DEFAULT 0,
  run_id TEXT,
  source_instance_id TEXT,
  target_instance_id TEXT,
  user_id TEXT NOT NULL,
  user_name TEXT NOT NULL,
  created_at {TIME} NOT NULL,
  updated_at {TIME} NOT NULL
);
CREATE INDEX migrations_project ON migrations(project_id, created_at DESC, id DESC);
CREATE INDEX migrations_source ON migrations(source_instance_id);
CREATE INDEX migrations_target ON migrations(target_instance_id);

CREATE TABLE migration_logs (
  id {SERIAL},
  migration_id TEXT NOT NULL,
  created_at {TIME} NOT NULL,
  level TEXT NOT NULL,
  code TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX migration_logs_of ON migration_logs(migration_id, id);
`
  },
  {
    // Creating a task in one round trip (PostgreSQL): the algorithm of SQLite's createTask — lock
    // the instance row, refuse a gone instance, a refused status or a busy instance, insert the
    // task and its steps, wake the other nodes — in one function call instead of nine statements
    // each waiting for the network, while the row lock is held. The outcome, and on success the
    // task and its steps as JSON (the caller needs the record it created).
    version: 15,
    only: 'postgres',
    sql: `
CREATE FUNCTION create_task(p_id TEXT, p_project TEXT, p_instance TEXT, p_instance_name TEXT, p_name TEXT,
  p_details TEXT, p_user_id TEXT, p_user_name TEXT, p_params TEXT, p_state TEXT, p_created BIGINT, p_status TEXT,
  p_steps TEXT[], p_refuse TEXT[])
RETURNS TABLE (outcome TEXT, detail TEXT, task JSON, steps JSON) LANGUAGE plpgsql AS $f$
DECLARE
  st TEXT;
  busy TEXT;
  created JSON;
BEGIN
  SELECT i.status INTO st FROM instances i WHERE i.id = p_instance AND i.project_id = p_project FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'instance_gone'::TEXT, NULL::TEXT, NULL::JSON, NULL::JSON;
    RETURN;
  END IF;
  IF st = ANY (p_refuse) THEN
    RETURN QUERY SELECT 'instance_state'::TEXT, st, NULL::JSON, NULL::JSON;
    RETURN;
  END IF;
  -- The one-active-task slot, as tasks_one_active enforces it.
  SELECT t.id INTO busy FROM tasks t WHERE t.instance_id = p_instance AND t.status IN ('CREATED','WAITING','EXECUTING')
    AND (t.record_kind IS NULL OR t.record_kind IN ('backup','restore','migration')) LIMIT 1;
  IF FOUND THEN
    RETURN QUERY SELECT 'busy'::TEXT, busy, NULL::JSON, NULL::JSON;
    RETURN;
  END IF;
  INSERT INTO tasks AS t (id, project_id, instance_id, instance_name, name, details, user_id, user_name, params, status, state, created_at, updated_at)
    VALUES (p_id, p_project, p_instance, p_instance_name, p_name, p_details, p_user_id, p_user_name, p_params, p_status, p_state, p_created, p_created)
    RETURNING row_to_json(t.*) INTO created;
  INSERT INTO task_steps (task_id, idx, name, status)
    SELECT p_id, s.ord - 1, s.name, 'WAITING' FROM unnest(p_steps) WITH ORDINALITY AS s(name, ord);
  NOTIFY dcs_tasks;
  RETURN QUERY SELECT 'created'::TEXT, NULL::TEXT, created,
    (SELECT json_agg(row_to_json(s.*) ORDER BY s.idx) FROM task_steps s WHERE s.task_id = p_id);
END
$f$;
`,
  },
  {
    // A deleted instance takes its record tasks (backups, restores, scans) with it, in the write
    // that deletes it. No index led with instance_id for them: the statement read every task of
    // every instance, inside the write (a million index entries at a million tasks). Record tasks
    // are few; finished background tasks, the bulk, are not in this index.
    version: 16,
    sql: `CREATE INDEX tasks_records_of_instance ON tasks(instance_id) WHERE record_kind IS NOT NULL;`,
  },
  {
    // Minute buckets between hours and seconds: locating a deep offset walked the up to 3,600
    // second buckets of an hour (1-1.5 ms at a million tasks, the largest part of a deep list);
    // now at most 60 per level. The triggers are re-created with minutes, and the minutes of the
    // tasks already there are summed from their seconds, in this migration's transaction.
    version: 17,
    sql: `
DROP TRIGGER tasks_counted_insert{ON_TASKS};
DROP TRIGGER tasks_counted_delete{ON_TASKS};
{TASK_COUNT_TRIGGERS_WITH_MINUTES}
INSERT INTO task_counts (project_id, instance_id, span, bucket, n)
  SELECT project_id, instance_id, 60, bucket / 60 * 60, SUM(n) FROM task_counts WHERE span = 1
  GROUP BY project_id, instance_id, bucket / 60 * 60;
`,
  },
  {
    // The deletion audit is listed newest first by id, with its exact count. Its index was by
    // deletion time, so a page sorted every audit row of the project, and the count counted them
    // (~0.7-1.3 s at a million, stalling the reads behind it). Nothing reads by deleted_at. The
    // count per project is kept by a trigger in the transaction of every audit insert (audit rows
    // are never deleted); the index is built first, which holds inserts off until the counts
    // and the trigger are in place (PostgreSQL: other nodes may be running).
    version: 18,
    sql: `
CREATE INDEX task_audit_project_id ON task_audit(project_id, id);
DROP INDEX task_audit_project;
CREATE TABLE audit_counts (project_id TEXT PRIMARY KEY, n {COUNT} NOT NULL){WITHOUT_ROWID};
INSERT INTO audit_counts (project_id, n) SELECT project_id, COUNT(*) FROM task_audit GROUP BY project_id;
{AUDIT_COUNT_TRIGGER}
`,
  },
  {
    // DCS's launched_at is when the instance first ran; it was shown as the creation time. Set
    // once by the write that first records RUNNING (rows.ts). Instances that have run before this
    // version keep their creation time, the best that is known of them.
    version: 19,
    sql: `
ALTER TABLE instances ADD COLUMN launched_at {TIME};
UPDATE instances SET launched_at = created_at WHERE status NOT IN ('CREATING', 'CREATEFAILED');
`,
  },
  {
    // A node stopped on purpose (SIGTERM) says so: its tasks wait for its return instead of being
    // failed as a dead node's, and it is down at once for the others (its Redis is stopped).
    version: 20,
    only: 'postgres',
    sql: `ALTER TABLE service_nodes ADD COLUMN stopped_at {TIME};`,
  },
];

/** The migrations of one dialect, in version order, with its column types filled in. */
export function migrationsFor(dialect: Dialect): Migration[] {
  return SHARED.filter((m) => !m.only || m.only === dialect).map((m) => ({
    version: m.version,
    sql: m.sql.replace(/\{[A-Z_]+\}/g, (p) => {
      const spans = TRIGGER_PLACEHOLDERS[p];
      const t = spans ? taskCountTriggers(dialect, spans) : TYPES[dialect][p];
      if (t === undefined) throw new Error(`no ${dialect} type for ${p}`);
      return t;
    }),
  }));
}
