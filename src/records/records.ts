/**
 * DCS records (backups, restores) as the domain knows them: plain data with epoch-millisecond
 * times, persisted by the stores (type-only imports). Each record in flight is driven by an
 * engine task with the same id; the task is never shown as a background task.
 */
export type BackupStatus = 'waiting' | 'backuping' | 'succeed' | 'failed' | 'expired' | 'deleted';
export type RestoreStatus = 'waiting' | 'restoring' | 'succeed' | 'failed';
export type BackupFormat = 'rdb' | 'aof';

export const BACKUP_IN_FLIGHT: readonly BackupStatus[] = ['waiting', 'backuping'];
export const RESTORE_IN_FLIGHT: readonly RestoreStatus[] = ['waiting', 'restoring'];

export interface BackupRecord {
  id: string;
  projectId: string;
  instanceId: string;
  name: string;
  period: string | null;
  size: number | null;
  type: 'manual' | 'auto';
  format: BackupFormat;
  status: BackupStatus;
  /** 0..100 */
  progress: number;
  errorCode: string | null;
  remark: string | null;
  /** The stored file's name (set once the file is in place). */
  fileName: string | null;
  createdAt: number;
  updatedAt: number;
  executionAt: number | null;
  /** The driving engine task's status, when it still exists (reads only). */
  taskStatus?: string | null;
}

export interface RestoreRecord {
  id: string;
  projectId: string;
  instanceId: string;
  backupId: string;
  backupName: string;
  backupRemark: string | null;
  status: RestoreStatus;
  progress: number;
  errorCode: string | null;
  remark: string | null;
  createdAt: number;
  updatedAt: number;
  taskStatus?: string | null;
}

export type BackupPatch = Partial<Pick<BackupRecord, 'status' | 'progress' | 'errorCode' | 'size' | 'fileName' | 'executionAt' | 'updatedAt'>>;
export type RestorePatch = Partial<Pick<RestoreRecord, 'status' | 'progress' | 'errorCode' | 'updatedAt'>>;

export interface RecordWindow {
  offset: number;
  limit: number;
  from?: number;
  to?: number;
}

/** Who did what to a record, for the audit trail. */
export interface RecordActor {
  userId: string;
  userName: string;
}

// ---- key scans (records.md §3–5) ----

/** big-key analysis, hot-key analysis, expired-key scan: each its own record_kind. */
export type ScanKind = 'bigkey' | 'hotkey' | 'expire';
export type ScanStatus = 'waiting' | 'running' | 'success' | 'failed';
export const SCAN_STATUSES: readonly ScanStatus[] = ['waiting', 'running', 'success', 'failed'];
export const SCAN_IN_FLIGHT: readonly ScanStatus[] = ['waiting', 'running'];
/** At most this many scan records per instance and kind (D13); the oldest finished go first. */
export const SCAN_RECORDS_KEPT = 100;

/** One key a big-key or hot-key analysis found (BigkeysBody / HotkeysBody). */
export interface FoundKey {
  name: string;
  type: 'string' | 'list' | 'set' | 'zset' | 'hash';
  shard: string;
  db: number;
  size: number;
  unit: 'byte' | 'count';
  /** hot keys only: OBJECT FREQ */
  freq?: number;
}

export interface ScanRecord {
  id: string;
  projectId: string;
  instanceId: string;
  kind: ScanKind;
  scanType: 'manual' | 'auto';
  status: ScanStatus;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** entries in `keys` (big/hot), keys released (expire) */
  num: number;
  keys: FoundKey[] | null;
  failReason: string | null;
  /** The driving engine task's status and fail_reason, when it still exists (reads only). */
  taskStatus?: string | null;
  taskFailReason?: string | null;
  /** When that task ended (a scan failed by another node, say, whose own record was never finished). */
  taskFinishedAt?: number | null;
}

export type ScanPatch = Partial<Pick<ScanRecord, 'status' | 'startedAt' | 'finishedAt' | 'num' | 'keys' | 'failReason'>>;

export interface ScanQuery {
  offset: number;
  limit: number;
  status?: ScanStatus;
}

/**
 * A stored automatic-run configuration, with when it last changed: an autoscan configuration of
 * a scan kind, or the automatic backup policy (kind `backup`). Its fields depend on the kind.
 */
export interface AutoscanConfigRecord {
  instanceId: string;
  kind: ScanKind | 'backup';
  config: Record<string, unknown>;
  updatedAt: number;
}
