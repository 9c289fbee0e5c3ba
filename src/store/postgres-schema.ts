/**
 * Versioned migrations for the PostgreSQL store: the same tables and column names as SQLite
 * (rows.ts maps both), BIGINT epoch-ms times, JSON kept as TEXT.
 */
export const POSTGRES_MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE instances (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  name TEXT NOT NULL,
  engine TEXT NOT NULL,
  engine_version TEXT NOT NULL,
  capacity_gb DOUBLE PRECISION NOT NULL,
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  status TEXT NOT NULL,
  managed BOOLEAN NOT NULL,
  redis_url TEXT,
  password TEXT,
  pending_password TEXT,
  username TEXT,
  extra TEXT NOT NULL DEFAULT '{}',
  owner_node TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
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
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  attempts INTEGER NOT NULL DEFAULT 0
);
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
  begin_at BIGINT,
  end_at BIGINT,
  error_code TEXT,
  PRIMARY KEY (task_id, idx)
);

CREATE TABLE task_audit (
  id BIGSERIAL PRIMARY KEY,
  project_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  task_name TEXT NOT NULL,
  last_status TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  actor_name TEXT NOT NULL,
  message TEXT,
  deleted_at BIGINT NOT NULL
);
CREATE INDEX task_audit_project ON task_audit(project_id, deleted_at);

CREATE TABLE credential_use (
  access_key TEXT PRIMARY KEY,
  last_used_at BIGINT NOT NULL,
  use_count BIGINT NOT NULL
);

CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  access_key TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
`,
  },
  {
    version: 2,
    sql: `ALTER TABLE instances ADD COLUMN nodes TEXT NOT NULL DEFAULT '[]';`,
  },
  {
    // Credentials published by each node from its credentials file, so every node accepts them.
    version: 3,
    sql: `
CREATE TABLE credentials (
  node TEXT NOT NULL,
  access_key TEXT NOT NULL,
  secret_key TEXT NOT NULL,
  project_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  user_name TEXT NOT NULL,
  role TEXT NOT NULL,
  published_at BIGINT NOT NULL,
  PRIMARY KEY (node, access_key)
);
-- Service nodes' liveness: a managed instance whose node stops beating is shown ERROR and its
-- interrupted tasks are failed by the nodes still alive.
CREATE TABLE service_nodes (
  node TEXT PRIMARY KEY,
  started_at BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL
);`,
  },
];
