/**
 * Migrations in the SQLite store. Each change is one write of the group commit, so a check and
 * the change it guards (a status, a run's task, the instances named) cannot interleave with
 * anything else — an instance delete included.
 */
import type { SqliteDb } from './db.js';
import * as plans from './plans.js';
import { migrationFromRow, migrationLogFromRow, migrationPatchColumns, migrationValues, stopPatch } from '../migration-rows.js';
import type { DeleteMigrationsOutcome, MigrationStore, StartRunOutcome, StopOutcome, TaskFence } from '../types.js';
import type { Deleter, NewTask } from '../../tasks/records.js';
import type { MigrationLog, MigrationRecord, MigrationRunPatch, MigrationStatus } from '../../migrations/records.js';
import { RUNNING_MIGRATION_STATUSES } from '../../migrations/records.js';

export class SqliteMigrations implements MigrationStore {
  constructor(private readonly db: SqliteDb) {}

  private insertRun(t: NewTask): void {
    // A run is no background task (record_kind): not in the task centre, not counted.
    this.db.run(plans.insertRecordTask, t.id, t.projectId, t.instanceId, t.instanceName, t.name, JSON.stringify(t.details), t.userId, t.userName,
      t.params, t.initialStatus ?? 'CREATED', JSON.stringify(t.state), t.createdAt, t.createdAt, 'migration');
    t.steps.forEach((name, i) => this.db.run(plans.insertStep, t.id, i, name));
  }

  async createMigration(m: MigrationRecord, job: NewTask | null, run: NewTask | null): Promise<void> {
    await this.db.write(() => {
      this.db.run(plans.insertMigration, ...migrationValues(m));
      if (job) {
        const at = job.createdAt;
        this.db.run(plans.insertFinishedTask, job.id, job.projectId, job.instanceId, job.instanceName, job.name, job.userId, job.userName, job.params, at, at, at, at);
      }
      if (run) this.insertRun(run);
    });
  }

  async getMigration(projectId: string, id: string): Promise<MigrationRecord | null> {
    const r = this.db.get(plans.migrationInProject, id, projectId);
    return r ? migrationFromRow(r) : null;
  }

  async getMigrationById(id: string): Promise<MigrationRecord | null> {
    const r = this.db.get(plans.migrationById, id);
    return r ? migrationFromRow(r) : null;
  }

  async listMigrations(projectId: string, name: string | undefined, offset: number, limit: number) {
    const n = name ?? null;
    const total = Number(this.db.get(plans.countMigrations, projectId, n, n)!.n);
    return { total, migrations: this.db.all(plans.pageOfMigrations, projectId, n, n, limit, offset).map(migrationFromRow) };
  }

  async latestErrors(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    return new Map(this.db.all(plans.latestMigrationErrors, JSON.stringify(ids)).map((r) => [String(r.migration_id), String(r.message)]));
  }

  async startRun(projectId: string, id: string, allowed: readonly MigrationStatus[], patch: Partial<MigrationRecord>, run: NewTask): Promise<StartRunOutcome> {
    return this.db.write((): StartRunOutcome => {
      const r = this.db.get(plans.migrationInProject, id, projectId);
      if (!r) return { ok: false, refused: 'not_found' };
      const current = migrationFromRow(r);
      if (!allowed.includes(current.status)) return { ok: false, refused: 'state', status: current.status };
      const settings = patch.settings ?? current.settings;
      for (const e of [settings.source, settings.target]) {
        if (e?.instanceId && !this.db.get(plans.instanceInProject, e.instanceId, projectId)) return { ok: false, refused: 'instance_gone', instanceId: e.instanceId };
      }
      if (this.db.get(plans.activeTaskOf, id)) return { ok: false, refused: 'state', status: current.status };
      const cols = migrationPatchColumns({ ...patch, runId: run.id, updatedAt: run.createdAt });
      this.db.run(plans.patchMigration(cols.map(([c]) => c)), ...cols.map(([, v]) => v), id);
      this.insertRun(run);
      return { ok: true, migration: migrationFromRow(this.db.get(plans.migrationById, id)!) };
    });
  }

  async requestStop(projectId: string, id: string, kind: 'stop' | 'sync'): Promise<StopOutcome> {
    return this.db.write((): StopOutcome => {
      const r = this.db.get(plans.migrationInProject, id, projectId);
      if (!r) return { ok: false, refused: 'not_found' };
      const m = migrationFromRow(r);
      const patch = stopPatch(m, kind, () => Boolean(this.db.get(plans.activeTaskOf, id)));
      if (patch === 'refused') return { ok: false, refused: 'state', status: m.status };
      if (patch) {
        const cols = migrationPatchColumns({ ...patch, updatedAt: Date.now() });
        this.db.run(plans.patchMigration(cols.map(([c]) => c)), ...cols.map(([, v]) => v), id);
      }
      return { ok: true, migration: migrationFromRow(this.db.get(plans.migrationById, id)!), changed: patch !== null };
    });
  }

  async deleteMigrations(projectId: string, ids: string[], by: Deleter): Promise<DeleteMigrationsOutcome> {
    return this.db.write((): DeleteMigrationsOutcome => {
      const found = [];
      for (const id of ids) {
        const r = this.db.get(plans.migrationInProject, id, projectId);
        if (!r) return { ok: false, refused: 'not_found', id };
        found.push(migrationFromRow(r));
      }
      const running = found.find((m) => RUNNING_MIGRATION_STATUSES.includes(m.status) || this.db.get(plans.activeTaskOf, m.id));
      if (running) return { ok: false, refused: 'running', id: running.id };
      const now = Date.now();
      for (const m of found) {
        this.db.run(plans.insertAudit, projectId, m.id, m.settings.target?.instanceId ?? '', 'migration', m.status, by.userId, by.userName, by.message, now);
        this.db.run(plans.deleteFinishedTasksOf, projectId, m.id);
        this.db.run(plans.deleteMigrationLogs, m.id);
        this.db.run(plans.deleteMigration, m.id);
      }
      return { ok: true };
    });
  }

  async updateAsRun(fence: TaskFence, id: string, patch: MigrationRunPatch): Promise<boolean> {
    const cols = migrationPatchColumns({ ...patch, updatedAt: fence.now });
    const sql = plans.patchMigrationAsRun(cols.map(([c]) => c));
    return this.db.write(() => this.db.run(sql, ...cols.map(([, v]) => v), id, fence.taskId, fence.owner, fence.now) === 1);
  }

  async appendLog(migrationId: string, level: 'INFO' | 'ERROR', code: string, message: string, at: number): Promise<void> {
    await this.db.write(() => this.db.run(plans.insertMigrationLog, migrationId, at, level, code, message));
  }

  async listLogs(migrationId: string, level: 'INFO' | 'ERROR' | undefined, offset: number, limit: number): Promise<{ total: number; logs: MigrationLog[] }> {
    const l = level ?? null;
    const total = Number(this.db.get(plans.countMigrationLogs, migrationId, l, l)!.n);
    return { total, logs: this.db.all(plans.pageOfMigrationLogs, migrationId, l, l, limit, offset).map(migrationLogFromRow) };
  }
}
