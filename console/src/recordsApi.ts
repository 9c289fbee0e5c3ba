/**
 * The console's calls for DCS records (backups, restores, key analyses, expired-key scans) and
 * data migrations, over the typed client. Kept beside api.ts so each file stays readable; pages
 * reach these through `ConsoleApi.records` and `ConsoleApi.migrations`.
 */
import type { DcsTasksClient } from '../../src/client/index.js';
import type {
  Backup, ExpireScan, KeyAnalysis, KeyAnalysisEntry, KeyAnalysisKind, Migration, MigrationListItem, MigrationStats, Restore,
} from './types';

export interface Paging { offset: number; limit: number }

export interface RecordsApi {
  listBackups(instanceId: string, q: Paging): Promise<{ total: number; backups: Backup[] }>;
  createBackup(instanceId: string, format: 'rdb' | 'aof', remark: string): Promise<string>;
  deleteBackup(instanceId: string, backupId: string): Promise<void>;
  /** A signed link to the backup's file, valid for an hour. */
  downloadLink(instanceId: string, backupId: string): Promise<string>;
  restore(instanceId: string, backupId: string, remark: string): Promise<string>;
  listRestores(instanceId: string, q: Paging): Promise<{ total: number; restores: Restore[] }>;
  startAnalysis(kind: KeyAnalysisKind, instanceId: string): Promise<KeyAnalysis>;
  listAnalyses(kind: KeyAnalysisKind, instanceId: string, q: Paging): Promise<{ total: number; records: KeyAnalysisEntry[] }>;
  getAnalysis(kind: KeyAnalysisKind, instanceId: string, id: string): Promise<KeyAnalysis>;
  deleteAnalysis(kind: KeyAnalysisKind, instanceId: string, id: string): Promise<void>;
  startExpireScan(instanceId: string): Promise<void>;
  /** The scans, their count and the keys they released in all. */
  listExpireScans(instanceId: string, q: Paging): Promise<{ total: number; released: number; records: ExpireScan[] }>;
}

export interface MigrationsApi {
  list(q: Paging): Promise<{ total: number; migrations: MigrationListItem[] }>;
  get(taskId: string): Promise<Migration>;
  stats(taskId: string): Promise<MigrationStats>;
  stop(taskId: string): Promise<void>;
  /** Runs a stopped, failed or finished migration again; a refusal is thrown with its code. */
  restart(taskId: string): Promise<void>;
  remove(taskId: string): Promise<void>;
}

/** A batch answer's one entry that did not succeed, as an error the dialog can show. */
function batchFailure(r: { migration_tasks: { result: string; error_code: string | null; error_msg: string | null }[] }): void {
  const f = r.migration_tasks.find((t) => t.result !== 'success');
  if (f) throw new Error(`${f.error_code ?? 'refused'}: ${f.error_msg ?? 'the service did not accept it.'}`);
}

export function recordsApi(c: DcsTasksClient): RecordsApi {
  return {
    listBackups: async (id, q) => {
      const r = await c.listBackups(id, q);
      return { total: r.total_num, backups: r.backup_record_response };
    },
    createBackup: async (id, format, remark) => (await c.createBackup(id, { backup_format: format, remark: remark || undefined })).backup_id,
    deleteBackup: (id, b) => c.deleteBackup(id, b),
    downloadLink: async (id, b) => {
      const r = await c.getBackupLinks(id, b, 3600);
      const link = r.links[0]?.link;
      if (!link) throw new Error('The service gave no link for this backup.');
      return link;
    },
    restore: async (id, b, remark) => (await c.restoreInstance(id, { backup_id: b, remark: remark || undefined })).restore_id,
    listRestores: async (id, q) => {
      const r = await c.listRestores(id, q);
      return { total: r.total_num, restores: r.restore_record_response };
    },
    startAnalysis: (kind, id) => c.createKeyAnalysis(kind, id),
    listAnalyses: async (kind, id, q) => {
      const r = await c.listKeyAnalyses(kind, id, q);
      return { total: r.count, records: r.records };
    },
    getAnalysis: (kind, id, a) => c.getKeyAnalysis(kind, id, a),
    deleteAnalysis: async (kind, id, a) => { await c.deleteKeyAnalysis(kind, id, a); },
    startExpireScan: async (id) => { await c.createExpireScan(id); },
    listExpireScans: async (id, q) => {
      const r = await c.listExpireScans(id, q);
      return { total: r.count, released: r.total, records: r.records };
    },
  };
}

export function migrationsApi(c: DcsTasksClient): MigrationsApi {
  return {
    list: async (q) => {
      const r = await c.listMigrations(q);
      return { total: r.count, migrations: r.migration_tasks };
    },
    get: (t) => c.getMigration(t),
    stats: (t) => c.getMigrationStats(t),
    stop: async (t) => { await c.stopMigration(t); },
    restart: async (t) => batchFailure(await c.batchRestartMigrations([t])),
    remove: async (t) => { await c.deleteMigrations([t]); },
  };
}
