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
