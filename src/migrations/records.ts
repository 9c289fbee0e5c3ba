/**
 * Data migrations as the domain knows them (automation.md §4): plain data with epoch-millisecond
 * times, persisted by the stores (type-only imports). A migration is not an instance background
 * task: each run of it is an engine task whose "instance" is the migration itself.
 */

/** DCS's statuses, `INCRMIGEATING` spelled as DCS and the Terraform provider spell it. */
export type MigrationStatus =
  | 'CREATING' | 'RUNNING' | 'MIGRATING' | 'INCRMIGEATING' | 'SUCCESS' | 'FAILED' | 'TERMINATING' | 'TERMINATED';

/** A copy or import in progress: a run is active. */
export const RUNNING_MIGRATION_STATUSES: readonly MigrationStatus[] = ['CREATING', 'MIGRATING', 'INCRMIGEATING', 'TERMINATING'];
/** (Re)configuring or restarting is allowed from these. */
export const STARTABLE_MIGRATION_STATUSES: readonly MigrationStatus[] = ['RUNNING', 'SUCCESS', 'FAILED', 'TERMINATED'];

export type MigrationType = 'online_migration' | 'backupfile_import';
export type MigrationMethod = 'full_amount_migration' | 'incremental_migration';
export type ResumeMode = 'auto' | 'manual';

/** One side of a migration: an instance of this service, or any Redis by address. */
export interface MigrationEndpoint {
  instanceId: string | null;
  /** `host:port` when given by address. */
  addrs: string | null;
}

/** What a migration does; never a secret (passwords are in MigrationSecrets). */
export interface MigrationSettings {
  source: MigrationEndpoint | null;
  target: MigrationEndpoint | null;
  /** Import: `{file_source, bucket_name, files, backup_id}` as sent. */
  backupFiles: Record<string, unknown> | null;
  networkType: string | null;
  tenantVpcId: string | null;
  tenantSubnetId: string | null;
  tenantSecurityGroupId: string | null;
}

/** The passwords a run needs to reconnect: kept only in the migration's record, never shown or logged. */
export interface MigrationSecrets {
  sourcePassword: string | null;
  targetPassword: string | null;
}

/** Full-copy progress, durable: the database and SCAN cursor to resume from. */
export interface CopyProgress {
  /** The database being copied (databases below it are done). */
  db: number;
  /** SCAN cursor in `db` after the last copied batch ('0': from the start of `db`). */
  cursor: string;
  copied: number;
  /** Keys in the source when the copy started (sum of DBSIZE). */
  total: number;
  done: boolean;
}

export const NO_PROGRESS: CopyProgress = { db: 0, cursor: '0', copied: 0, total: 0, done: false };

export interface MigrationRecord {
  id: string;
  projectId: string;
  name: string;
  description: string;
  migrationType: MigrationType;
  migrationMethod: MigrationMethod | null;
  resumeMode: ResumeMode;
  bandwidthLimitMb: number | null;
  status: MigrationStatus;
  /** A stop or sync-stop accepted and not yet carried out by the run. */
  stopRequest: 'stop' | 'sync' | null;
  settings: MigrationSettings;
  secrets: MigrationSecrets;
  progress: CopyProgress;
  /** Replication offset the target has applied (incremental). */
  replOffset: number;
  /** The engine task of the current (or last) run. */
  runId: string | null;
  userId: string;
  userName: string;
  createdAt: number;
  updatedAt: number;
}

/** What a run may change, fenced by its lease. */
export type MigrationRunPatch = Partial<Pick<MigrationRecord, 'status' | 'progress' | 'replOffset' | 'stopRequest'>>;

export interface MigrationLog {
  id: number;
  migrationId: string;
  createdAt: number;
  level: 'INFO' | 'ERROR';
  code: string;
  message: string;
}
