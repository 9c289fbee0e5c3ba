/**
 * Row <-> record mapping of migrations, shared by both stores (same column names in SQLite and
 * PostgreSQL; PostgreSQL returns BIGINT as strings).
 */
import type { MigrationLog, MigrationRecord, MigrationRunPatch } from '../migrations/records.js';

type Row = Record<string, unknown>;

const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export const MIGRATION_COLUMNS = [
  'id', 'project_id', 'name', 'description', 'migration_type', 'migration_method', 'resume_mode', 'bandwidth_limit_mb', 'status',
  'stop_request', 'settings', 'secrets', 'progress', 'repl_offset', 'run_id', 'source_instance_id', 'target_instance_id',
  'user_id', 'user_name', 'created_at', 'updated_at',
] as const;

export function migrationFromRow(r: Row): MigrationRecord {
  return {
    id: String(r.id),
    projectId: String(r.project_id),
    name: String(r.name),
    description: String(r.description),
    migrationType: String(r.migration_type) as MigrationRecord['migrationType'],
    migrationMethod: strOrNull(r.migration_method) as MigrationRecord['migrationMethod'],
    resumeMode: String(r.resume_mode) as MigrationRecord['resumeMode'],
    bandwidthLimitMb: r.bandwidth_limit_mb === null || r.bandwidth_limit_mb === undefined ? null : Number(r.bandwidth_limit_mb),
    status: String(r.status) as MigrationRecord['status'],
    stopRequest: strOrNull(r.stop_request) as MigrationRecord['stopRequest'],
    settings: json(r.settings),
    secrets: json(r.secrets),
    progress: json(r.progress),
    replOffset: Number(r.repl_offset),
    runId: strOrNull(r.run_id),
    userId: String(r.user_id),
    userName: String(r.user_name),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** Values in MIGRATION_COLUMNS order. */
export function migrationValues(m: MigrationRecord): unknown[] {
  return [
    m.id, m.projectId, m.name, m.description, m.migrationType, m.migrationMethod, m.resumeMode, m.bandwidthLimitMb, m.status,
    m.stopRequest, JSON.stringify(m.settings), JSON.stringify(m.secrets), JSON.stringify(m.progress), m.replOffset, m.runId,
    m.settings.source?.instanceId ?? null, m.settings.target?.instanceId ?? null, m.userId, m.userName, m.createdAt, m.updatedAt,
  ];
}

const FIELD_COLUMN: Partial<Record<keyof MigrationRecord, string>> = {
  name: 'name', description: 'description', migrationMethod: 'migration_method', resumeMode: 'resume_mode',
  bandwidthLimitMb: 'bandwidth_limit_mb', status: 'status', stopRequest: 'stop_request', secrets: 'secrets', progress: 'progress',
  replOffset: 'repl_offset', runId: 'run_id', updatedAt: 'updated_at',
};
const JSON_FIELDS = new Set(['settings', 'secrets', 'progress']);

/** [column, value] pairs of a patch; settings also set the instance columns. */
export function migrationPatchColumns(patch: Partial<MigrationRecord>): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (k === 'settings') {
      const s = v as MigrationRecord['settings'];
      out.push(['settings', JSON.stringify(s)], ['source_instance_id', s.source?.instanceId ?? null], ['target_instance_id', s.target?.instanceId ?? null]);
      continue;
    }
    const col = FIELD_COLUMN[k as keyof MigrationRecord];
    if (!col) throw new Error(`migration field ${k} cannot be changed`);
    out.push([col, JSON_FIELDS.has(k) ? JSON.stringify(v) : v]);
  }
  return out;
}

export function migrationLogFromRow(r: Row): MigrationLog {
  return {
    id: Number(r.id), migrationId: String(r.migration_id), createdAt: Number(r.created_at),
    level: String(r.level) as MigrationLog['level'], code: String(r.code), message: String(r.message),
  };
}

/**
 * What a stop or sync-stop changes (null: nothing, already stopping or stopped), or 'refused'.
 * Shared by both stores: the rule is the same, only the transaction differs.
 */
export function stopPatch(m: MigrationRecord, kind: 'stop' | 'sync', runActive: () => boolean): MigrationRunPatch | null | 'refused' {
  if (kind === 'sync') return m.status === 'INCRMIGEATING' ? { stopRequest: 'sync' } : 'refused';
  if (m.status === 'TERMINATING' || m.status === 'TERMINATED') return null;
  if (m.status !== 'MIGRATING' && m.status !== 'INCRMIGEATING') return 'refused';
  // No run to carry the stop out (it ended in between): the migration is stopped now.
  return { stopRequest: 'stop', status: runActive() ? 'TERMINATING' : 'TERMINATED' };
}
