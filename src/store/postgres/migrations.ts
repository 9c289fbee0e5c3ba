/**
 * Migrations in the PostgreSQL store: the same rules as SQLite's. A run, a stop and a delete
 * lock the migration's row; a run also locks the rows of the instances it names (FOR SHARE), so
 * an instance delete (FOR UPDATE) waits for it and then sees the migration running.
 */
import type pg from 'pg';
import type { PgDb } from './db.js';
import * as plans from './plans.js';
import { migrationFromRow, migrationLogFromRow, migrationPatchColumns, migrationValues, stopPatch } from '../migration-rows.js';
import type { DeleteMigrationsOutcome, MigrationStore, StartRunOutcome, StopOutcome, TaskFence } from '../types.js';
import type { Deleter, NewTask } from '../../tasks/records.js';
import type { MigrationLog, MigrationRecord, MigrationRunPatch, MigrationStatus } from '../../migrations/records.js';
import { RUNNING_MIGRATION_STATUSES } from '../../migrations/records.js';

export class PostgresMigrations implements MigrationStore {
  constructor(private readonly db: PgDb) {}

  private async insertRun(c: pg.PoolClient, t: NewTask): Promise<void> {
    // A run is no background task (record_kind): not in the task centre, not counted.
    await this.db.run(plans.insertRecordTask, [t.id, t.projectId, t.instanceId, t.instanceName, t.name, JSON.stringify(t.details),
      t.userId, t.userName, t.params, JSON.stringify(t.state), t.createdAt, 'migration', t.initialStatus ?? 'CREATED'], c);
    await this.db.run(plans.insertSteps, [t.id, t.steps], c);
    await this.db.run(plans.notify, [], c);
  }

  private async patch(c: pg.PoolClient, id: string, patch: Partial<MigrationRecord>): Promise<void> {
    const cols = migrationPatchColumns(patch);
    await this.db.run(plans.patchMigration(cols.map(([col]) => col)), [...cols.map(([, v]) => v), id], c);
  }

  private async runActive(c: pg.PoolClient, id: string): Promise<boolean> {
    return (await this.db.q(plans.activeTaskOf, [id], c)).length > 0;
  }

  async createMigration(m: MigrationRecord, job: NewTask | null, run: NewTask | null): Promise<void> {
    await this.db.tx(async (c) => {
      await this.db.run(plans.insertMigration, migrationValues(m), c);
      if (job) {
        await this.db.run(plans.insertFinishedTask, [job.id, job.projectId, job.instanceId, job.instanceName, job.name, job.userId, job.userName,
          job.params, job.createdAt], c);
      }
      if (run) await this.insertRun(c, run);
    });
  }

  async getMigration(projectId: string, id: string): Promise<MigrationRecord | null> {
    const [r] = await this.db.q(plans.migrationInProject, [id, projectId]);
    return r ? migrationFromRow(r) : null;
  }

  async getMigrationById(id: string): Promise<MigrationRecord | null> {
    const [r] = await this.db.q(plans.migrationById, [id]);
    return r ? migrationFromRow(r) : null;
  }

  async listMigrations(projectId: string, name: string | undefined, offset: number, limit: number) {
    const n = name ?? null;
    const [{ n: total }] = await this.db.q(plans.countMigrations, [projectId, n]);
    return { total: Number(total), migrations: (await this.db.q(plans.pageOfMigrations, [projectId, n, limit, offset])).map(migrationFromRow) };
  }

  async latestErrors(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    return new Map((await this.db.q(plans.latestMigrationErrors, [ids])).map((r) => [String(r.migration_id), String(r.message)]));
  }

  async startRun(projectId: string, id: string, allowed: readonly MigrationStatus[], patch: Partial<MigrationRecord>, run: NewTask): Promise<StartRunOutcome> {
    return this.db.tx(async (c): Promise<StartRunOutcome> => {
      const [r] = await this.db.q(plans.lockMigration, [id, projectId], c);
      if (!r) return { ok: false, refused: 'not_found' };
      const current = migrationFromRow(r);
      if (!allowed.includes(current.status)) return { ok: false, refused: 'state', status: current.status };
      const settings = patch.settings ?? current.settings;
      for (const e of [settings.source, settings.target]) {
        if (e?.instanceId && (await this.db.q(plans.shareInstance, [e.instanceId, projectId], c)).length === 0) {
          return { ok: false, refused: 'instance_gone', instanceId: e.instanceId };
        }
      }
      if (await this.runActive(c, id)) return { ok: false, refused: 'state', status: current.status };
      await this.patch(c, id, { ...patch, runId: run.id, updatedAt: run.createdAt });
      await this.insertRun(c, run);
      return { ok: true, migration: migrationFromRow((await this.db.q(plans.migrationById, [id], c))[0]!) };
    });
  }

  async requestStop(projectId: string, id: string, kind: 'stop' | 'sync'): Promise<StopOutcome> {
    return this.db.tx(async (c): Promise<StopOutcome> => {
      const [r] = await this.db.q(plans.lockMigration, [id, projectId], c);
      if (!r) return { ok: false, refused: 'not_found' };
      const m = migrationFromRow(r);
      const active = await this.runActive(c, id);
      const patch = stopPatch(m, kind, () => active);
      if (patch === 'refused') return { ok: false, refused: 'state', status: m.status };
      if (patch) await this.patch(c, id, { ...patch, updatedAt: Date.now() });
      return { ok: true, migration: migrationFromRow((await this.db.q(plans.migrationById, [id], c))[0]!), changed: patch !== null };
    });
  }

  async deleteMigrations(projectId: string, ids: string[], by: Deleter): Promise<DeleteMigrationsOutcome> {
    return this.db.tx(async (c): Promise<DeleteMigrationsOutcome> => {
      const found: MigrationRecord[] = [];
      for (const id of ids) {
        const [r] = await this.db.q(plans.lockMigration, [id, projectId], c);
        if (!r) return { ok: false, refused: 'not_found', id };
        found.push(migrationFromRow(r));
      }
      for (const m of found) {
        if (RUNNING_MIGRATION_STATUSES.includes(m.status) || (await this.runActive(c, m.id))) return { ok: false, refused: 'running', id: m.id };
      }
      const now = Date.now();
      for (const m of found) {
        await this.db.run(plans.insertAudit, [projectId, m.id, m.settings.target?.instanceId ?? '', 'migration', m.status, by.userId, by.userName, by.message, now], c);
        await this.db.run(plans.deleteFinishedTasksOf, [projectId, m.id], c);
        await this.db.run(plans.deleteMigrationLogs, [m.id], c);
        await this.db.run(plans.deleteMigration, [m.id], c);
      }
      return { ok: true };
    });
  }

  async updateAsRun(fence: TaskFence, id: string, patch: MigrationRunPatch): Promise<boolean> {
    const cols = migrationPatchColumns({ ...patch, updatedAt: fence.now });
    const res = await this.db.run(plans.patchMigrationAsRun(cols.map(([c]) => c)), [...cols.map(([, v]) => v), id, fence.taskId, fence.owner, fence.now]);
    return res.rowCount === 1;
  }

  async appendLog(migrationId: string, level: 'INFO' | 'ERROR', code: string, message: string, at: number): Promise<void> {
    await this.db.run(plans.insertMigrationLog, [migrationId, at, level, code, message]);
  }

  async listLogs(migrationId: string, level: 'INFO' | 'ERROR' | undefined, offset: number, limit: number): Promise<{ total: number; logs: MigrationLog[] }> {
    const l = level ?? null;
    const [{ n }] = await this.db.q(plans.countMigrationLogs, [migrationId, l]);
    return { total: Number(n), logs: (await this.db.q(plans.pageOfMigrationLogs, [migrationId, l, limit, offset])).map(migrationLogFromRow) };
  }
}
