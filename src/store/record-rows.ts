/**
 * Row <-> record mapping of backups and restores, shared by both stores (same column names).
 */
import type { AutoscanConfigRecord, BackupPatch, BackupRecord, RestorePatch, RestoreRecord, ScanPatch, ScanRecord } from '../records/records.js';

type Row = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function backupFromRow(r: Row): BackupRecord {
  return {
    id: String(r.id), projectId: String(r.project_id), instanceId: String(r.instance_id), name: String(r.name),
    period: strOrNull(r.period), size: numOrNull(r.size), type: String(r.backup_type) as BackupRecord['type'],
    format: String(r.format) as BackupRecord['format'], status: String(r.status) as BackupRecord['status'],
    progress: num(r.progress), errorCode: strOrNull(r.error_code), remark: strOrNull(r.remark), fileName: strOrNull(r.file_name),
    createdAt: num(r.created_at), updatedAt: num(r.updated_at), executionAt: numOrNull(r.execution_at), taskStatus: strOrNull(r.task_status),
  };
}

/** Column order of insertBackup. */
export const backupValues = (b: BackupRecord): unknown[] => [
  b.id, b.projectId, b.instanceId, b.name, b.period, b.size, b.type, b.format, b.status, b.progress, b.errorCode, b.remark,
  b.fileName, b.createdAt, b.updatedAt, b.executionAt,
];

export function restoreFromRow(r: Row): RestoreRecord {
  return {
    id: String(r.id), projectId: String(r.project_id), instanceId: String(r.instance_id), backupId: String(r.backup_id),
    backupName: String(r.backup_name), backupRemark: strOrNull(r.backup_remark), status: String(r.status) as RestoreRecord['status'],
    progress: num(r.progress), errorCode: strOrNull(r.error_code), remark: strOrNull(r.remark),
    createdAt: num(r.created_at), updatedAt: num(r.updated_at), taskStatus: strOrNull(r.task_status),
  };
}

/** Column order of insertRestore. */
export const restoreValues = (r: RestoreRecord): unknown[] => [
  r.id, r.projectId, r.instanceId, r.backupId, r.backupName, r.backupRemark, r.status, r.progress, r.errorCode, r.remark, r.createdAt, r.updatedAt,
];

export function scanFromRow(r: Row): ScanRecord {
  return {
    id: String(r.id), projectId: String(r.project_id), instanceId: String(r.instance_id), kind: String(r.kind) as ScanRecord['kind'],
    scanType: String(r.scan_type) as ScanRecord['scanType'], status: String(r.status) as ScanRecord['status'],
    createdAt: num(r.created_at), startedAt: numOrNull(r.started_at), finishedAt: numOrNull(r.finished_at), num: num(r.num),
    keys: r.keys === null || r.keys === undefined ? null : JSON.parse(String(r.keys)), failReason: strOrNull(r.fail_reason),
    taskStatus: strOrNull(r.task_status), taskFailReason: strOrNull(r.task_fail_reason), taskFinishedAt: numOrNull(r.task_finished_at),
  };
}

export const configFromRow = (r: Row): AutoscanConfigRecord => ({
  instanceId: String(r.instance_id), kind: String(r.kind) as AutoscanConfigRecord['kind'], config: JSON.parse(String(r.config)), updatedAt: num(r.updated_at),
});

/** Column order of insertScan. */
export const scanValues = (s: ScanRecord): unknown[] => [
  s.id, s.projectId, s.instanceId, s.kind, s.scanType, s.status, s.createdAt, s.startedAt, s.finishedAt, s.num,
  s.keys === null ? null : JSON.stringify(s.keys), s.failReason,
];

const COLUMN: Record<string, string> = {
  status: 'status', progress: 'progress', errorCode: 'error_code', size: 'size', fileName: 'file_name',
  executionAt: 'execution_at', updatedAt: 'updated_at', startedAt: 'started_at', finishedAt: 'finished_at', num: 'num', keys: 'keys',
  failReason: 'fail_reason',
};

/**
 * A backup's or restore's `updated_at` is the time of its last status change (records.md): a
 * patch that changes the status stamps it, one that only moves the progress does not.
 */
export const stampStatusChange = <P extends BackupPatch | RestorePatch>(patch: P, now: number): P =>
  patch.status === undefined || patch.updatedAt !== undefined ? patch : { ...patch, updatedAt: now };

/** [column, value] pairs of a patch, in a stable order (found keys as JSON). */
export function recordPatchColumns(patch: BackupPatch | RestorePatch | ScanPatch): [string, unknown][] {
  return Object.entries(patch).filter(([, v]) => v !== undefined).map(([k, v]) => {
    const c = COLUMN[k];
    if (!c) throw new Error(`no column for ${k}`);
    return [c, k === 'keys' && v !== null ? JSON.stringify(v) : v];
  });
}

/** Whether a record's engine task is still unfinished (a record in flight whose task ended was interrupted). */
export const isActive = (taskStatus: string | null | undefined): boolean =>
  taskStatus === 'CREATED' || taskStatus === 'WAITING' || taskStatus === 'EXECUTING';
