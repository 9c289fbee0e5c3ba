/**
 * Row <-> record mapping of backups and restores, shared by both stores (same column names).
 */
import type { BackupPatch, BackupRecord, RestorePatch, RestoreRecord } from '../records/records.js';

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

const COLUMN: Record<string, string> = {
  status: 'status', progress: 'progress', errorCode: 'error_code', size: 'size', fileName: 'file_name',
  executionAt: 'execution_at', updatedAt: 'updated_at',
};

/** [column, value] pairs of a patch, in a stable order. */
export function recordPatchColumns(patch: BackupPatch | RestorePatch): [string, unknown][] {
  return Object.entries(patch).filter(([, v]) => v !== undefined).map(([k, v]) => {
    const c = COLUMN[k];
    if (!c) throw new Error(`no column for ${k}`);
    return [c, v];
  });
}

/** Whether a record's engine task is still unfinished (a record in flight whose task ended was interrupted). */
export const isActive = (taskStatus: string | null | undefined): boolean =>
  taskStatus === 'CREATED' || taskStatus === 'WAITING' || taskStatus === 'EXECUTING';
