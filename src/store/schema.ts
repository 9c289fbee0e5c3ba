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
  },
  postgres: {
    '{TIME}': 'BIGINT',
    '{REAL}': 'DOUBLE PRECISION',
    '{BOOL}': 'BOOLEAN',
    '{COUNT}': 'BIGINT',
    '{SERIAL}': 'BIGSERIAL PRIMARY KEY',
    '{WITHOUT_ROWID}': '',
  },
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
    // backups and restores, and a second rule allows one scan of each kind per instance.
    // Autoscan configurations are stored per instance and kind as JSON.
    version: 6,
    sql: `
DROP INDEX tasks_one_active;
CREATE UNIQUE INDEX tasks_one_active ON tasks(instance_id)
  WHERE status IN ('CREATED','WAITING','EXECUTING') AND (record_kind IS NULL OR record_kind IN ('backup','restore'));
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
];

/** The migrations of one dialect, in version order, with its column types filled in. */
export function migrationsFor(dialect: Dialect): Migration[] {
  return SHARED.filter((m) => !m.only || m.only === dialect).map((m) => ({
    version: m.version,
    sql: m.sql.replace(/\{[A-Z_]+\}/g, (p) => {
      const t = TYPES[dialect][p];
      if (t === undefined) throw new Error(`no ${dialect} type for ${p}`);
      return t;
    }),
  }));
}
