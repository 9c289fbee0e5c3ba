/**
 * SQLite: backups and restores. Creating one writes the record and its engine task in one write
 * (nothing interleaves in SQLite's single writer), so the one-active-task rule and the record
 * rules (backup `succeed`, no restore in flight) hold together. SQL in plans.ts.
 */
import type { SqliteDb } from './db.js';
import * as plans from './plans.js';
import { backupFromRow, backupValues, configFromRow, isActive, recordPatchColumns, stampStatusChange, restoreFromRow, restoreValues, scanFromRow, scanValues } from '../record-rows.js';
import {
  BACKUP_IN_FLIGHT, SCAN_RECORDS_KEPT, type AutoscanConfigRecord, type BackupPatch, type BackupRecord, type RecordActor, type RecordWindow,
  type RestorePatch, type RestoreRecord, type ScanKind, type ScanPatch, type ScanQuery, type ScanRecord,
} from '../../records/records.js';
import type { NewTask } from '../../tasks/records.js';
import type { InstancePatch, InstanceStatus } from '../../instances/records.js';
import type { CreateRecordOutcome, CreateScanOutcome, DeleteBackupOutcome, DeleteScanOutcome, RecordStore, TaskFence } from '../types.js';

const windowArgs = (w: RecordWindow) => [w.from ?? null, w.from ?? null, w.to ?? null, w.to ?? null];

export class SqliteRecords implements RecordStore {
  constructor(private readonly db: SqliteDb, private readonly patchInstance: (id: string, patch: InstancePatch) => void) {}

  /** The checks every record creation makes, in order; null when the task may be created. */
  private refusal(t: NewTask, refuseStatuses: InstanceStatus[]): CreateRecordOutcome | null {
    const inst = this.db.get(plans.instanceInProject, t.instanceId, t.projectId);
    if (!inst) return { ok: false, refused: 'instance_gone' };
    const active = this.db.get(plans.activeTaskNameOf, t.instanceId);
    if (active) return { ok: false, refused: 'busy', activeTaskName: String(active.name) };
    const status = String(inst.status) as InstanceStatus;
    if (refuseStatuses.includes(status)) return { ok: false, refused: 'instance_state', status };
    return null;
  }

  private insertTask(t: NewTask, kind: string): void {
    this.db.run(plans.insertRecordTask, t.id, t.projectId, t.instanceId, t.instanceName, t.name, JSON.stringify(t.details), t.userId, t.userName,
      t.params, t.initialStatus ?? 'CREATED', JSON.stringify(t.state), t.createdAt, t.createdAt, kind);
    t.steps.forEach((name, i) => this.db.run(plans.insertStep, t.id, i, name));
  }

  async createBackup(t: NewTask, b: BackupRecord, refuseStatuses: InstanceStatus[]): Promise<CreateRecordOutcome> {
    return this.db.write((): CreateRecordOutcome => {
      const no = this.refusal(t, refuseStatuses);
      if (no) return no;
      this.insertTask(t, 'backup');
      this.db.run(plans.insertBackup, ...backupValues(b));
      return { ok: true };
    });
  }

  async createRestore(t: NewTask, r: RestoreRecord, o: { refuseStatuses: InstanceStatus[]; instancePatch: InstancePatch; by: RecordActor }): Promise<CreateRecordOutcome> {
    return this.db.write((): CreateRecordOutcome => {
      const no = this.refusal(t, o.refuseStatuses);
      if (no) return no;
      const row = this.db.get(plans.backupById, r.backupId);
      const b = row && backupFromRow(row);
      if (!b || b.instanceId !== r.instanceId) return { ok: false, refused: 'backup_unknown' };
      if (b.status !== 'succeed') return { ok: false, refused: 'backup_not_ready', status: b.status };
      this.insertTask(t, 'restore');
      this.db.run(plans.insertRestore, ...restoreValues({ ...r, backupName: b.name, backupRemark: b.remark }));
      this.patchInstance(r.instanceId, o.instancePatch);
      this.db.run(plans.insertRecordAudit, r.projectId, r.instanceId, 'restore', r.id, 'restore', r.status, o.by.userId, o.by.userName, r.createdAt);
      return { ok: true };
    });
  }

  async getBackup(id: string): Promise<BackupRecord | null> {
    const r = this.db.get(plans.backupById, id);
    return r ? backupFromRow(r) : null;
  }

  async listBackups(instanceId: string, w: RecordWindow): Promise<{ total: number; items: BackupRecord[] }> {
    const total = Number(this.db.get(plans.countBackups, instanceId, ...windowArgs(w))!.n);
    const items = this.db.all(plans.pageOfBackups, instanceId, ...windowArgs(w), w.limit, w.offset).map(backupFromRow);
    return { total, items };
  }

  async updateBackupAsTask(fence: TaskFence, id: string, patch: BackupPatch): Promise<boolean> {
    const cols = recordPatchColumns(stampStatusChange(patch, fence.now));
    const sql = plans.patchBackupAsTask(cols.map(([c]) => c));
    return this.db.write(() => this.db.run(sql, ...cols.map(([, v]) => v), id, fence.owner, fence.now) === 1);
  }

  async deleteBackup(instanceId: string, id: string, by: RecordActor, now: number): Promise<DeleteBackupOutcome> {
    return this.db.write((): DeleteBackupOutcome => {
      const row = this.db.get(plans.backupById, id);
      const b = row && backupFromRow(row);
      if (!b || b.instanceId !== instanceId || b.status === 'deleted' || b.status === 'expired') return { outcome: 'not_found' };
      if (BACKUP_IN_FLIGHT.includes(b.status) && isActive(b.taskStatus)) return { outcome: 'running' };
      if (this.db.get(plans.restoreInFlightFrom, id)) return { outcome: 'restoring' };
      this.db.run(plans.markBackupDeleted, now, id);
      this.db.run(plans.insertRecordAudit, b.projectId, b.instanceId, 'backup', b.id, 'delete', b.status, by.userId, by.userName, now);
      return { outcome: 'deleted', backup: b };
    });
  }

  async getRestore(id: string): Promise<RestoreRecord | null> {
    const r = this.db.get(plans.restoreById, id);
    return r ? restoreFromRow(r) : null;
  }

  async listRestores(instanceId: string, w: RecordWindow): Promise<{ total: number; items: RestoreRecord[] }> {
    const total = Number(this.db.get(plans.countRestores, instanceId, ...windowArgs(w))!.n);
    const items = this.db.all(plans.pageOfRestores, instanceId, ...windowArgs(w), w.limit, w.offset).map(restoreFromRow);
    return { total, items };
  }

  async updateRestoreAsTask(fence: TaskFence, id: string, patch: RestorePatch): Promise<boolean> {
    const cols = recordPatchColumns(stampStatusChange(patch, fence.now));
    const sql = plans.patchRestoreAsTask(cols.map(([c]) => c));
    return this.db.write(() => this.db.run(sql, ...cols.map(([, v]) => v), id, fence.owner, fence.now) === 1);
  }

  // ---- key scans ----

  async createScan(t: NewTask, sc: ScanRecord, o: { refuseStatuses: InstanceStatus[]; refuseDuring: string[] }): Promise<CreateScanOutcome> {
    return this.db.write((): CreateScanOutcome => {
      const inst = this.db.get(plans.instanceInProject, t.instanceId, t.projectId);
      if (!inst) return { ok: false, refused: 'instance_gone' };
      const active = this.db.get(plans.activeTaskNameOf, t.instanceId);
      if (active && o.refuseDuring.includes(String(active.name))) return { ok: false, refused: 'busy', activeTaskName: String(active.name) };
      const status = String(inst.status) as InstanceStatus;
      if (!active && o.refuseStatuses.includes(status)) return { ok: false, refused: 'instance_state', status };
      if (this.db.get(plans.scanTaskInFlight, t.instanceId, sc.kind)) return { ok: false, refused: 'scan_in_flight' };
      const inserted = this.db.run(plans.insertScanTask, t.id, t.projectId, t.instanceId, t.instanceName, t.name, JSON.stringify(t.details),
        t.userId, t.userName, t.params, JSON.stringify(t.state), t.createdAt, t.createdAt, sc.kind);
      if (inserted === 0) return { ok: false, refused: 'duplicate' };
      t.steps.forEach((name, i) => this.db.run(plans.insertStep, t.id, i, name));
      this.db.run(plans.insertScan, ...scanValues(sc));
      const n = Number(this.db.get(plans.countScansOfKind, sc.instanceId, sc.kind)!.n);
      if (n > SCAN_RECORDS_KEPT) this.db.run(plans.trimScans, sc.instanceId, sc.kind, n - SCAN_RECORDS_KEPT);
      return { ok: true };
    });
  }

  async getScan(id: string): Promise<ScanRecord | null> {
    const r = this.db.get(plans.scanById, id);
    return r ? scanFromRow(r) : null;
  }

  async listScans(instanceId: string, kind: ScanKind, q: ScanQuery): Promise<{ count: number; sumNum: number; items: ScanRecord[] }> {
    const args = [instanceId, kind, q.status ?? null, q.status ?? null];
    const c = this.db.get(plans.countScans, ...args)!;
    const items = this.db.all(plans.pageOfScans, ...args, q.limit, q.offset).map(scanFromRow);
    return { count: Number(c.n), sumNum: Number(c.total), items };
  }

  async updateScanAsTask(fence: TaskFence, id: string, patch: ScanPatch): Promise<boolean> {
    const cols = recordPatchColumns(patch);
    const sql = plans.patchScanAsTask(cols.map(([c]) => c));
    return this.db.write(() => this.db.run(sql, ...cols.map(([, v]) => v), id, fence.owner, fence.now) === 1);
  }

  async deleteScan(instanceId: string, kind: ScanKind, id: string, by: RecordActor, now: number): Promise<DeleteScanOutcome> {
    return this.db.write((): DeleteScanOutcome => {
      const row = this.db.get(plans.scanById, id);
      const sc = row && scanFromRow(row);
      if (!sc || sc.instanceId !== instanceId || sc.kind !== kind) return { outcome: 'not_found' };
      if (isActive(sc.taskStatus)) return { outcome: 'running' };
      this.db.run(plans.deleteScan, id);
      this.db.run(plans.insertRecordAudit, sc.projectId, sc.instanceId, kind, id, 'delete', sc.status, by.userId, by.userName, now);
      return { outcome: 'deleted', scan: sc };
    });
  }

  async getAutoscanConfig(instanceId: string, kind: AutoscanConfigRecord['kind']): Promise<AutoscanConfigRecord | null> {
    const r = this.db.get(plans.autoscanConfigOf, instanceId, kind);
    return r ? configFromRow(r) : null;
  }

  async putAutoscanConfig(c: AutoscanConfigRecord): Promise<void> {
    await this.db.write(() => this.db.run(plans.putAutoscanConfig, c.instanceId, c.kind, JSON.stringify(c.config), c.updatedAt));
  }

  async listAutoscanConfigs(): Promise<AutoscanConfigRecord[]> {
    return this.db.all(plans.autoscanConfigsOfInstances).map(configFromRow);
  }

  async insertBackupIfAbsent(b: BackupRecord): Promise<boolean> {
    return this.db.write(() => this.db.run(plans.insertBackupIfAbsent, ...backupValues(b)) === 1);
  }

  async expireAutoBackups(instanceId: string, before: number, now: number): Promise<string[]> {
    return this.db.write(() => this.db.all(plans.expireAutoBackups, now, instanceId, before).map((r) => String(r.id)));
  }
}
