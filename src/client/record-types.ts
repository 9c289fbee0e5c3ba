/**
 * Request and response shapes of the DCS records (records.md): backups, restores, big-key and
 * hot-key analyses, expired-key scans and their autoscan configurations, as the wire spells them.
 */

export interface Backup {
  backup_id: string;
  period: string | null;
  backup_name: string;
  instance_id: string;
  size: number | null;
  backup_type: 'manual' | 'auto';
  created_at: string;
  updated_at: string;
  progress: string;
  error_code: string | null;
  remark: string | null;
  status: 'waiting' | 'backuping' | 'succeed' | 'failed' | 'expired' | 'deleted';
  is_support_restore: 'TRUE' | 'FALSE';
  backup_format: 'rdb' | 'aof';
  execution_at: string | null;
}

export interface BackupList {
  total_num: number;
  backup_record_response: Backup[];
}

export interface CreateBackupRequest {
  remark?: string;
  backup_format?: 'rdb' | 'aof';
}

export interface BackupLinks {
  file_path: string;
  bucket_name: null;
  links: { file_name: string; link: string }[];
}

export interface Restore {
  backup_id: string;
  restore_id: string;
  backup_name: string;
  updated_at: string;
  restore_remark: string | null;
  created_at: string;
  progress: string;
  error_code: string | null;
  restore_name: string;
  backup_remark: string | null;
  status: 'waiting' | 'restoring' | 'succeed' | 'failed';
}

export interface RestoreList {
  restore_record_response: Restore[];
  total_num: number;
}

/** Paging and time window of the backup and restore lists. Times: `yyyyMMddHHmmss` UTC or a Date. */
export interface RecordQuery {
  offset?: number;
  limit?: number;
  begin_time?: string | Date;
  end_time?: string | Date;
}

export type ScanStatus = 'waiting' | 'running' | 'success' | 'failed';
export type KeyAnalysisKind = 'bigkey' | 'hotkey';

/** One key a big-key or hot-key analysis found (BigkeysBody / HotkeysBody), as the domain defines it. */
import type { FoundKey } from '../records/records.js';

export type { FoundKey };

export interface KeyAnalysis {
  id: string;
  instance_id: string;
  status: ScanStatus;
  scan_type: 'manual' | 'auto';
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  num: number;
  keys: FoundKey[] | null;
  fail_reason: string | null;
}

export type KeyAnalysisEntry = Pick<KeyAnalysis, 'id' | 'status' | 'scan_type' | 'created_at' | 'started_at' | 'finished_at'>;

export interface KeyAnalysisList {
  instance_id: string;
  count: number;
  records: KeyAnalysisEntry[];
}

export interface ScanQuery {
  offset?: number;
  limit?: number;
  status?: ScanStatus;
}

export interface ExpireScan {
  id: string;
  instance_id: string;
  status: ScanStatus;
  scan_type: 'manual' | 'auto';
  num: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  fail_reason: string | null;
}

export interface ExpireScanHistory {
  records: ExpireScan[];
  instance_id: string;
  /** keys released by the matching scans */
  total: number;
  count: number;
}

export interface DailyAutoscanConfig {
  instance_id: string;
  enable_auto_scan: boolean;
  schedule_at: string[];
  updated_at: string | null;
}

export interface ExpireAutoscanConfig {
  instance_id: string;
  enable_auto_scan: boolean;
  first_scan_at: string | null;
  interval: number | null;
  timeout: number | null;
  scan_keys_count: number | null;
  updated_at: string | null;
}
