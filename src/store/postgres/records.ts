/**
 * PostgreSQL: backups and restores. Creating one locks the instance row (as task creation does)
 * and writes the record and its engine task in that transaction; a restore also locks its
 * backup's row, which a backup delete locks too, so neither acknowledges what the other undid.
 * SQL in plans.ts.
 */
import type { PgDb, Conn } from './db.js';
import * as plans from './plans.js';
import { backupFromRow, backupValues, configFromRow, isActive, recordPatchColumns, stampStatusChange, restoreFromRow, restoreValues, scanFromRow, scanValues } from '../record-rows.js';
import {
  BACKUP_IN_FLIGHT, SCAN_RECORDS_KEPT, type AutoscanConfigRecord, type BackupPatch, type BackupRecord, type RecordActor, type RecordWindow,
  type RestorePatch, type RestoreRecord, type ScanKind, type ScanPatch, type ScanQuery, type ScanRecord,
} from '../../records/records.js';
import type { NewTask } from '../../tasks/records.js';
import type { InstancePatch, InstanceStatus } from '../../instances/records.js';
import type { CreateRecordOutcome, CreateScanOutcome, DeleteBackupOutcome, DeleteScanOutcome, RecordStore, TaskFence } from '../types.js';

const windowArgs = (w: RecordWindow) => [w.from ?? null, w.to ?? null];

export class PostgresRecords implements RecordStore {
  constructor(private readonly db: PgDb, private readonly patchInstance: (c: Conn, id: string, patch: InstancePatch) => Promise<void>) {}

  private async refusal(c: Conn, t: NewTask, refuseStatuses: InstanceStatus[]): Promise<CreateRecordOutcome | null> {
    const [inst] = await this.db.q(plans.lockInstance, [t.instanceId, t.projectId], c);
    if (!inst) return { ok: false, refused: 'instance_gone' };
    const [active] = await this.db.q(plans.activeTaskNameOf, [t.instanceId], c);
    if (active) return { ok: false, refused: 'busy', activeTaskName: String(active.name) };
    const status = String(inst.status) as InstanceStatus;
    if (refuseStatuses.includes(status)) return { ok: false, refused: 'instance_state', status };
    return null;
  }

  private async insertTask(c: Conn, t: NewTask, kind: string): Promise<void> {
    await this.db.run(plans.insertRecordTask, [t.id, t.projectId, t.instanceId, t.instanceName, t.name, JSON.stringify(t.details),
      t.userId, t.userName, t.params, JSON.stringify(t.state), t.createdAt, kind, t.initialStatus ?? 'CREATED'], c);
    await this.db.run(plans.insertSteps, [t.id, t.steps], c);
    await this.db.run(plans.notify, [], c);
  }

  async createBackup(t: NewTask, b: BackupRecord, refuseStatuses: InstanceStatus[]): Promise<CreateRecordOutcome> {
    return this.db.tx(async (c): Promise<CreateRecordOutcome> => {
      const no = await this.refusal(c, t, refuseStatuses);
      if (no) return no;
      await this.insertTask(c, t, 'backup');
      await this.db.run(plans.insertBackup, backupValues(b), c);
      return { ok: true };
    });
  }

  async createRestore(t: NewTask, r: RestoreRecord, o: { refuseStatuses: InstanceStatus[]; instancePatch: InstancePatch; by: RecordActor }): Promise<CreateRecordOutcome> {
    return this.db.tx(async (c): Promise<CreateRecordOutcome> => {
      const no = await this.refusal(c, t, o.refuseStatuses);
      if (no) return no;
      const [row] = await this.db.q(plans.lockBackup, [r.backupId], c);
      const b = row && backupFromRow(row);
      if (!b || b.instanceId !== r.instanceId) return { ok: false, refused: 'backup_unknown' };
      if (b.status !== 'succeed') return { ok: false, refused: 'backup_not_ready', status: b.status };
      await this.insertTask(c, t, 'restore');
      await this.db.run(plans.insertRestore, restoreValues({ ...r, backupName: b.name, backupRemark: b.remark }), c);
      await this.patchInstance(c, r.instanceId, o.instancePatch);
      await this.db.run(plans.insertRecordAudit, [r.projectId, r.instanceId, 'restore', r.id, 'restore', r.status, o.by.userId, o.by.userName, r.createdAt], c);
      return { ok: true };
    });
  }

  async getBackup(id: string): Promise<BackupRecord | null> {
    const [r] = await this.db.q(plans.backupById, [id]);
    return r ? backupFromRow(r) : null;
  }

  async listBackups(instanceId: string, w: RecordWindow): Promise<{ total: number; items: BackupRecord[] }> {
    const [{ n }] = await this.db.q(plans.countBackups, [instanceId, ...windowArgs(w)]);
    const rows = await this.db.q(plans.pageOfBackups, [instanceId, ...windowArgs(w), w.limit, w.offset]);
    return { total: Number(n), items: rows.map(backupFromRow) };
  }

  async updateBackupAsTask(fence: TaskFence, id: string, patch: BackupPatch): Promise<boolean> {
    const cols = recordPatchColumns(stampStatusChange(patch, fence.now));
    const res = await this.db.run(plans.patchBackupAsTask(cols.map(([col]) => col)), [...cols.map(([, v]) => v), id, fence.owner, fence.now]);
    return res.rowCount === 1;
  }

  async deleteBackup(instanceId: string, id: string, by: RecordActor, now: number): Promise<DeleteBackupOutcome> {
    return this.db.tx(async (c): Promise<DeleteBackupOutcome> => {
      const [row] = await this.db.q(plans.lockBackup, [id], c);
      const b = row && backupFromRow(row);
      if (!b || b.instanceId !== instanceId || b.status === 'deleted' || b.status === 'expired') return { outcome: 'not_found' };
      if (BACKUP_IN_FLIGHT.includes(b.status) && isActive(b.taskStatus)) return { outcome: 'running' };
      if ((await this.db.q(plans.restoreInFlightFrom, [id], c)).length) return { outcome: 'restoring' };
      await this.db.run(plans.markBackupDeleted, [now, id], c);
      await this.db.run(plans.insertRecordAudit, [b.projectId, b.instanceId, 'backup', b.id, 'delete', b.status, by.userId, by.userName, now], c);
      return { outcome: 'deleted', backup: b };
    });
  }

  async getRestore(id: string): Promise<RestoreRecord | null> {
    const [r] = await this.db.q(plans.restoreById, [id]);
    return r ? restoreFromRow(r) : null;
  }

  async listRestores(instanceId: string, w: RecordWindow): Promise<{ total: number; items: RestoreRecord[] }> {
    const [{ n }] = await this.db.q(plans.countRestores, [instanceId, ...windowArgs(w)]);
    const rows = await this.db.q(plans.pageOfRestores, [instanceId, ...windowArgs(w), w.limit, w.offset]);
    return { total: Number(n), items: rows.map(restoreFromRow) };
  }

  async updateRestoreAsTask(fence: TaskFence, id: string, patch: RestorePatch): Promise<boolean> {
    const cols = recordPatchColumns(stampStatusChange(patch, fence.now));
    const res = await this.db.run(plans.patchRestoreAsTask(cols.map(([col]) => col)), [...cols.map(([, v]) => v), id, fence.owner, fence.now]);
    return res.rowCount === 1;
  }

  // ---- key scans ----

  async createScan(t: NewTask, sc: ScanRecord, o: { refuseStatuses: InstanceStatus[]; refuseDuring: string[] }): Promise<CreateScanOutcome> {
    return this.db.tx(async (c): Promise<CreateScanOutcome> => {
      const [inst] = await this.db.q(plans.lockInstance, [t.instanceId, t.projectId], c);
      if (!inst) return { ok: false, refused: 'instance_gone' };
      const [active] = await this.db.q(plans.activeTaskNameOf, [t.instanceId], c);
      if (active && o.refuseDuring.includes(String(active.name))) return { ok: false, refused: 'busy', activeTaskName: String(active.name) };
      const status = String(inst.status) as InstanceStatus;
      if (!active && o.refuseStatuses.includes(status)) return { ok: false, refused: 'instance_state', status };
      if ((await this.db.q(plans.scanTaskInFlight, [t.instanceId, sc.kind], c)).length) return { ok: false, refused: 'scan_in_flight' };
      const inserted = await this.db.run(plans.insertScanTask, [t.id, t.projectId, t.instanceId, t.instanceName, t.name, JSON.stringify(t.details),
        t.userId, t.userName, t.params, JSON.stringify(t.state), t.createdAt, sc.kind], c);
      if (inserted.rowCount === 0) return { ok: false, refused: 'duplicate' };
      await this.db.run(plans.insertSteps, [t.id, t.steps], c);
      await this.db.run(plans.insertScan, scanValues(sc), c);
      const [{ n }] = await this.db.q(plans.countScansOfKind, [sc.instanceId, sc.kind], c);
      if (Number(n) > SCAN_RECORDS_KEPT) await this.db.run(plans.trimScans, [sc.instanceId, sc.kind, Number(n) - SCAN_RECORDS_KEPT], c);
      await this.db.run(plans.notify, [], c);
      return { ok: true };
    });
  }

  async getScan(id: string): Promise<ScanRecord | null> {
    const [r] = await this.db.q(plans.scanById, [id]);
    return r ? scanFromRow(r) : null;
  }

  async listScans(instanceId: string, kind: ScanKind, q: ScanQuery): Promise<{ count: number; sumNum: number; items: ScanRecord[] }> {
    const args = [instanceId, kind, q.status ?? null];
    const [c] = await this.db.q(plans.countScans, args);
    const rows = await this.db.q(plans.pageOfScans, [...args, q.limit, q.offset]);
    return { count: Number(c.n), sumNum: Number(c.total), items: rows.map(scanFromRow) };
  }

  async updateScanAsTask(fence: TaskFence, id: string, patch: ScanPatch): Promise<boolean> {
    const cols = recordPatchColumns(patch);
    const res = await this.db.run(plans.patchScanAsTask(cols.map(([col]) => col)), [...cols.map(([, v]) => v), id, fence.owner, fence.now]);
    return res.rowCount === 1;
  }

  async deleteScan(instanceId: string, kind: ScanKind, id: string, by: RecordActor, now: number): Promise<DeleteScanOutcome> {
    return this.db.tx(async (c): Promise<DeleteScanOutcome> => {
      const [row] = await this.db.q(plans.lockScan, [id], c);
      const sc = row && scanFromRow(row);
      if (!sc || sc.instanceId !== instanceId || sc.kind !== kind) return { outcome: 'not_found' };
      if (isActive(sc.taskStatus)) return { outcome: 'running' };
      await this.db.run(plans.deleteScan, [id], c);
      await this.db.run(plans.insertRecordAudit, [sc.projectId, sc.instanceId, kind, id, 'delete', sc.status, by.userId, by.userName, now], c);
      return { outcome: 'deleted', scan: sc };
    });
  }

  async getAutoscanConfig(instanceId: string, kind: AutoscanConfigRecord['kind']): Promise<AutoscanConfigRecord | null> {
    const [r] = await this.db.q(plans.autoscanConfigOf, [instanceId, kind]);
    return r ? configFromRow(r) : null;
  }

  async putAutoscanConfig(cfg: AutoscanConfigRecord): Promise<void> {
    await this.db.run(plans.putAutoscanConfig, [cfg.instanceId, cfg.kind, JSON.stringify(cfg.config), cfg.updatedAt]);
  }

  async listAutoscanConfigs(): Promise<AutoscanConfigRecord[]> {
    return (await this.db.q(plans.autoscanConfigsOfInstances)).map(configFromRow);
  }

  async insertBackupIfAbsent(b: BackupRecord): Promise<boolean> {
    return (await this.db.run(plans.insertBackupIfAbsent, backupValues(b))).rowCount === 1;
  }

  async expireAutoBackups(instanceId: string, before: number, now: number): Promise<string[]> {
    return (await this.db.q(plans.expireAutoBackups, [now, instanceId, before])).map((r) => String(r.id));
  }
}
