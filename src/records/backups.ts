/**
 * BackupService: the rules of backups and restores (records.md §1–2, §6) — creating them (the
 * store decides atomically with the instance row locked), reading them with their effective
 * status, deleting a backup (the file goes, the record stays `deleted`), download links.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DcsError, Errors } from '../errors.js';
import type { TaskEngine } from '../engine/engine.js';
import type { InstanceRecord, InstanceStatus } from '../instances/records.js';
import type { InstanceService } from '../instances/service.js';
import { backupOperation, restoreOperation } from '../operations/backup.js';
import type { CreateRecordOutcome, Store } from '../store/types.js';
import { isActive } from '../store/record-rows.js';
import { busyError, type Actor } from '../tasks/service.js';
import type { NewTask } from '../tasks/records.js';
import { BACKUP_IN_FLIGHT, RESTORE_IN_FLIGHT, type BackupRecord, type RecordWindow, type RestoreRecord } from './records.js';
import { backupDirOf, compactUtc } from './files.js';
import type { DownloadSigner } from './links.js';
import { BackupPolicies } from './backup-policy.js';
import { isUuid } from '../ids.js';

export const RecordErrors = {
  badBackupId: () => Errors.badParam('backup_id', 'Invalid backup_id in the request.'),
  backupNotFound: () => new DcsError('DCS.4031', 'The backup does not exist.'),
  attached: () => new DcsError('DCS.4095', 'Backups and restores need the server\'s own files; an attached (redis_url) instance has none here.'),
  notRunning: () => new DcsError('DCS.4049', 'The instance is not running.'),
  remarkTooLong: () => new DcsError('DCS.4098', 'The remark must be at most 128 characters.'),
  backupNotRestorable: () => new DcsError('DCS.4087', 'Only a backup in status succeed can be restored.'),
  linkNotAllowed: () => new DcsError('DCS.4957', 'This operation is not allowed when the task is in the current state.'),
  fileGone: () => new DcsError('DCS.4001', 'The backup file does not exist.'),
};

/** Every status but RUNNING refuses a backup or restore (DCS.4049) when no task runs. */
const NOT_RUNNING: InstanceStatus[] = ['CREATING', 'RESTARTING', 'RESTORING', 'ERROR', 'DELETING'];

export interface CreateBackupBody {
  remark?: string;
  backup_format?: 'rdb' | 'aof';
}

export interface CreateRestoreBody {
  backup_id: string;
  remark?: string;
}

function checkRemark(remark: string | undefined): string | null {
  if (remark === undefined) return null;
  if ([...remark].length > 128) throw RecordErrors.remarkTooLong();
  return remark;
}

function refusal(out: Exclude<CreateRecordOutcome, { ok: true }>): DcsError {
  switch (out.refused) {
    case 'instance_gone': return Errors.instanceNotFound();
    case 'busy': return busyError(out.activeTaskName);
    case 'instance_state': return RecordErrors.notRunning();
    case 'backup_unknown': return RecordErrors.badBackupId();
    case 'backup_not_ready': return RecordErrors.backupNotRestorable();
  }
}

const HAS_FILE_SIZE: BackupRecord['status'][] = ['succeed', 'expired', 'deleted'];

/**
 * A record as shown. In flight while its engine task runs: the task writes the outcome in its last
 * step (or hook) and ends a moment later, and until it has ended the instance is still busy with
 * it — a `succeed` shown then would invite a restore that is refused as busy. In flight with its
 * task ended: interrupted for good (e.g. its node died).
 */
export function effectiveBackup(b: BackupRecord): BackupRecord {
  const shown = BACKUP_IN_FLIGHT.includes(b.status)
    ? (isActive(b.taskStatus) ? b : { ...b, status: 'failed' as const, errorCode: b.errorCode ?? 'dcs.08.0001' })
    : (ENDED_BACKUP.includes(b.status) && isActive(b.taskStatus) ? { ...b, status: 'backuping' as const } : b);
  // records.md: a size only from succeed on (kept after expired/deleted), an error code only when failed.
  return {
    ...shown,
    size: HAS_FILE_SIZE.includes(shown.status) ? shown.size : null,
    errorCode: shown.status === 'failed' ? shown.errorCode : null,
  };
}

export function effectiveRestore(r: RestoreRecord): RestoreRecord {
  if (RESTORE_IN_FLIGHT.includes(r.status)) return isActive(r.taskStatus) ? r : { ...r, status: 'failed', errorCode: r.errorCode ?? 'dcs.08.0007' };
  return isActive(r.taskStatus) ? { ...r, status: 'restoring', errorCode: null } : r;
}

/** The outcomes a backup's own task writes (expired and deleted come long after it ended). */
const ENDED_BACKUP: readonly BackupRecord['status'][] = ['succeed', 'failed'];

/** Who automatic backups are recorded as. */
const AUTOMATIC: Actor = { userId: 'dcs-tasks', userName: 'scheduler' };

function newBackup(i: InstanceRecord, id: string, o: Pick<BackupRecord, 'type' | 'period' | 'format' | 'remark'>): BackupRecord {
  const now = Date.now();
  return {
    id, projectId: i.projectId, instanceId: i.id, name: `backup_${compactUtc(now)}`, size: null, ...o,
    status: 'waiting', progress: 0, errorCode: null, fileName: null, createdAt: now, updatedAt: now, executionAt: null,
  };
}

export class BackupService {
  readonly policies: BackupPolicies;

  constructor(
    private readonly store: Store,
    private readonly engine: TaskEngine,
    private readonly instances: InstanceService,
    private readonly signer: DownloadSigner,
    private readonly dataDir: string,
  ) {
    this.policies = new BackupPolicies(store);
  }

  /**
   * A record's engine task. One a request creates is EXECUTING when the response is sent
   * (automation.md §1.1), as TaskService.start does; a scheduled one starts CREATED.
   */
  private task(i: InstanceRecord, id: string, name: string, steps: { name: string }[], state: object, actor: Actor, now: number, byRequest: boolean): NewTask {
    return {
      id, projectId: i.projectId, instanceId: i.id, instanceName: i.name, name, details: {}, userId: actor.userId, userName: actor.userName,
      params: '{}', state: state as Record<string, unknown>, createdAt: now, steps: steps.map((s) => s.name), initialStatus: byRequest ? 'EXECUTING' : 'CREATED',
    };
  }

  /** An instance a backup or restore may run on: managed, its node up. */
  private async ownInstance(projectId: string, instanceId: string): Promise<InstanceRecord> {
    const i = await this.instances.operable(projectId, instanceId);
    if (!i.managed) throw RecordErrors.attached();
    return i;
  }

  async createBackup(projectId: string, instanceId: string, body: CreateBackupBody, actor: Actor): Promise<string> {
    // Parameters (400) before existence (404) and state (api.md's order of checks).
    const remark = checkRemark(body.remark);
    const i = await this.ownInstance(projectId, instanceId);
    const record = newBackup(i, randomUUID(), { type: 'manual', period: null, format: body.backup_format ?? 'rdb', remark });
    const out = await this.startBackup(i, record, actor);
    if (!out.ok) throw refusal(out);
    return record.id;
  }

  private async startBackup(i: InstanceRecord, b: BackupRecord, actor: Actor): Promise<CreateRecordOutcome> {
    const task = this.task(i, b.id, backupOperation.name, backupOperation.steps, { format: b.format, createdAt: b.createdAt }, actor, b.createdAt, b.type === 'manual');
    const out = await this.store.records.createBackup(task, b, NOT_RUNNING);
    if (out.ok) this.engine.kick();
    return out;
  }

  /**
   * The automatic backup of one schedule slot (its id is fixed per slot, so it happens once). When
   * section 6 forbids a backup now, the record is created `failed` with dcs.08.0008. False when the
   * slot's record exists already or the instance is gone.
   */
  async createAutoBackup(i: InstanceRecord, id: string, period: string): Promise<boolean> {
    if (!i.managed || (await this.store.records.getBackup(id))) return false;
    const record = newBackup(i, id, { type: 'auto', period, format: 'rdb', remark: null });
    const out = await this.startBackup(i, record, AUTOMATIC);
    if (out.ok) return true;
    if (out.refused === 'instance_gone') return false;
    return this.store.records.insertBackupIfAbsent({ ...record, status: 'failed', errorCode: 'dcs.08.0008' });
  }

  /** Retention of automatic backups: past `saveDays`, the file goes and the record becomes `expired`. */
  async expireAutoBackups(instanceId: string, saveDays: number, now = Date.now()): Promise<number> {
    const ids = await this.store.records.expireAutoBackups(instanceId, now - saveDays * 24 * 3600_000, now);
    for (const id of ids) fs.rmSync(backupDirOf(this.dataDir, instanceId, id), { recursive: true, force: true });
    return ids.length;
  }

  /**
   * Removes the files this node holds of backups that are deleted or expired, or whose record is
   * gone: on several nodes any node answers a delete (or runs an expiry) and removed the files in
   * its own data directory, not in the one of the node that made them. Each scheduler tick.
   */
  async removeFilesOfGoneBackups(): Promise<number> {
    const root = path.join(this.dataDir, 'backups');
    const entries = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);
    let removed = 0;
    for (const instanceId of entries(root)) {
      for (const backupId of entries(path.join(root, instanceId)).filter(isUuid)) {
        const b = await this.store.records.getBackup(backupId);
        if (b && b.status !== 'deleted' && b.status !== 'expired') continue;
        fs.rmSync(backupDirOf(this.dataDir, instanceId, backupId), { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  private async instanceMustExist(projectId: string, instanceId: string): Promise<void> {
    if (!(await this.store.getInstance(projectId, instanceId))) throw Errors.instanceNotFound();
  }

  async listBackups(projectId: string, instanceId: string, w: RecordWindow): Promise<{ total: number; items: BackupRecord[] }> {
    await this.instanceMustExist(projectId, instanceId);
    const { total, items } = await this.store.records.listBackups(instanceId, w);
    return { total, items: items.map(effectiveBackup) };
  }

  /** The backup of this instance, or 400 DCS.4031 (unknown, of another instance). */
  private async backupOf(projectId: string, instanceId: string, backupId: string): Promise<BackupRecord> {
    if (!isUuid(backupId)) throw RecordErrors.badBackupId();
    await this.instanceMustExist(projectId, instanceId);
    const b = await this.store.records.getBackup(backupId);
    if (!b || b.instanceId !== instanceId) throw RecordErrors.backupNotFound();
    return effectiveBackup(b);
  }

  /** Marks the record `deleted` (durable), then removes the file. */
  async deleteBackup(projectId: string, instanceId: string, backupId: string, actor: Actor): Promise<void> {
    await this.backupOf(projectId, instanceId, backupId);
    const out = await this.store.records.deleteBackup(instanceId, backupId, actor, Date.now());
    if (out.outcome === 'not_found') throw RecordErrors.backupNotFound();
    if (out.outcome === 'running') throw Errors.taskRunning();
    if (out.outcome === 'restoring') throw busyError(restoreOperation.name);
    fs.rmSync(backupDirOf(this.dataDir, instanceId, backupId), { recursive: true, force: true });
  }

  async links(projectId: string, instanceId: string, backupId: string, expiration: number, origin: string) {
    const b = await this.backupOf(projectId, instanceId, backupId);
    if (b.status !== 'succeed' || !b.fileName) throw RecordErrors.linkNotAllowed();
    const expires = Math.floor(Date.now() / 1000) + expiration;
    const sig = this.signer.sign(b.id, b.fileName, expires);
    const link = `${origin}/downloads/backups/${b.id}/${encodeURIComponent(b.fileName)}?Expires=${expires}&Signature=${sig}`;
    return { file_path: `${instanceId}/${b.id}/`, bucket_name: null, links: [{ file_name: b.fileName, link }] };
  }

  /** The file a valid download link names: 401 for a bad or expired link, 404 DCS.4001 when gone. */
  async download(backupId: string, fileName: string, expires: string | undefined, signature: string | undefined): Promise<{ file: string; size: number }> {
    this.signer.verify(backupId, fileName, expires, signature);
    const b = await this.store.records.getBackup(backupId);
    if (!b || b.status !== 'succeed' || b.fileName !== fileName || !(await this.store.getInstanceById(b.instanceId))) throw RecordErrors.fileGone();
    const file = path.join(backupDirOf(this.dataDir, b.instanceId, b.id), fileName);
    try {
      return { file, size: fs.statSync(file).size };
    } catch {
      throw RecordErrors.fileGone();
    }
  }

  async createRestore(projectId: string, instanceId: string, body: CreateRestoreBody, actor: Actor): Promise<string> {
    if (!isUuid(body.backup_id)) throw RecordErrors.badBackupId();
    const remark = checkRemark(body.remark);
    const i = await this.ownInstance(projectId, instanceId);
    // The backup (a parameter) before the instance's state: a restore that can never succeed is
    // not answered with a busy code a client would retry. The store checks both again, atomically.
    const backup = await this.store.records.getBackup(body.backup_id);
    if (!backup || backup.instanceId !== instanceId) throw RecordErrors.badBackupId();
    if (backup.status !== 'succeed') throw RecordErrors.backupNotRestorable();
    const now = Date.now();
    const id = randomUUID();
    const record: RestoreRecord = {
      id, projectId, instanceId, backupId: body.backup_id, backupName: '', backupRemark: null, status: 'waiting', progress: 0,
      errorCode: null, remark, createdAt: now, updatedAt: now,
    };
    const out = await this.store.records.createRestore(
      this.task(i, id, restoreOperation.name, restoreOperation.steps, { backupId: body.backup_id }, actor, now, true), record,
      { refuseStatuses: NOT_RUNNING, instancePatch: { status: 'RESTORING' }, by: actor });
    if (!out.ok) throw refusal(out);
    this.engine.kick();
    return id;
  }

  async listRestores(projectId: string, instanceId: string, w: RecordWindow): Promise<{ total: number; items: RestoreRecord[] }> {
    await this.instanceMustExist(projectId, instanceId);
    const { total, items } = await this.store.records.listRestores(instanceId, w);
    return { total, items: items.map(effectiveRestore) };
  }
}
