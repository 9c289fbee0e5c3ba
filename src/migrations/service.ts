/**
 * MigrationService: the rules of data migrations (automation.md §4) — creating, configuring,
 * restarting, stopping and deleting them, and reading them with their logs and live stats. Each
 * start of copying records a run (an engine task) in the same transaction as the status change;
 * the engine carries it out (run.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { backupDirOf } from '../records/files.js';
import { DcsError, Errors } from '../errors.js';
import { isUuid } from '../ids.js';
import { isLoopback } from '../config.js';
import { newTaskId, type Actor } from '../tasks/service.js';
import type { NewTask } from '../tasks/records.js';
import type { Store, StartRunOutcome, StopOutcome } from '../store/types.js';
import type { InstanceRecord } from '../instances/records.js';
import { infoSection, totalKeys, type RedisTarget } from '../redis/commands.js';
import { obsFile } from './import.js';
import { MIGRATION_RUN, RUN_STEPS, endpointTarget, parseAddrs } from './run.js';
import {
  NO_PROGRESS, RUNNING_MIGRATION_STATUSES, STARTABLE_MIGRATION_STATUSES,
  type MigrationEndpoint, type MigrationLog, type MigrationMethod, type MigrationRecord, type MigrationSettings, type ResumeMode,
} from './records.js';

/** `ConfigMigrationInstanceBody`: exactly one of id and addrs, plus an optional password. */
export interface EndpointBody {
  id?: string;
  addrs?: string;
  password?: string;
}

export interface CreateOnlineBody {
  name: string;
  description?: string;
  vpc_id: string;
  subnet_id: string;
  security_group_id: string;
}

export interface ConfigureBody {
  migration_method: MigrationMethod;
  /** "" is the default, as absent (the Terraform provider sends it for an unset value). */
  resume_mode?: ResumeMode | '';
  bandwidth_limit_mb?: string;
  source_instance: EndpointBody;
  target_instance: EndpointBody;
}

export interface CreateTaskBody {
  task_name: string;
  description?: string;
  migration_type: 'backupfile_import' | 'online_migration';
  migration_method: MigrationMethod;
  network_type?: string;
  /** "" is the default, as absent (the Terraform provider sends it for an unset value). */
  resume_mode?: ResumeMode | '';
  bandwidth_limit_mb?: string;
  backup_files?: { file_source?: string; bucket_name?: string; backup_id?: string; files?: { file_name: string; size?: string; update_at?: string }[] };
  source_instance?: EndpointBody;
  target_instance: EndpointBody;
}

export type BatchResult = { task_id: string; result: 'success' | 'failed'; error_code: string | null; error_msg: string | null };

/** Live figures of a migration; `null` where an endpoint cannot be reached. */
export interface MigrationStats {
  progress: number;
  offset: number;
  sourceDbsize: number | null;
  targetDbsize: number | null;
  targetInputKbps: string | null;
  targetOps: string | null;
  migrating: boolean;
}

export interface MigrationDeps {
  store: Store;
  targetOf(i: InstanceRecord): RedisTarget;
  dataDir: string;
  /** Wakes the engine after a run is recorded. */
  kick(): void;
}

const TASK_ID = /^[0-9a-f]{32}$/;

export class MigrationService {
  constructor(private readonly d: MigrationDeps) {}

  private get store() {
    return this.d.store.migrations;
  }

  private runTask(m: Pick<MigrationRecord, 'id' | 'projectId' | 'name'>, actor: Actor, now: number): NewTask {
    return {
      id: newTaskId(), projectId: m.projectId, instanceId: m.id, instanceName: m.name, name: MIGRATION_RUN, details: {},
      userId: actor.userId, userName: actor.userName, params: JSON.stringify({ migration_id: m.id }), state: {}, createdAt: now,
      steps: [...RUN_STEPS],
    };
  }

  private blank(projectId: string, name: string, description: string | undefined, actor: Actor, now: number): MigrationRecord {
    return {
      id: newTaskId(), projectId, name, description: description ?? '', migrationType: 'online_migration', migrationMethod: null,
      resumeMode: 'auto', bandwidthLimitMb: null, status: 'RUNNING', stopRequest: null,
      settings: { source: null, target: null, backupFiles: null, networkType: null, tenantVpcId: null, tenantSubnetId: null, tenantSecurityGroupId: null },
      secrets: { sourcePassword: null, targetPassword: null }, progress: NO_PROGRESS, replOffset: 0, runId: null,
      userId: actor.userId, userName: actor.userName, createdAt: now, updatedAt: now,
    };
  }

  /** POST /migration/instance: the task exists, not configured (RUNNING); its job is over at once. */
  async createOnline(projectId: string, b: CreateOnlineBody, actor: Actor): Promise<{ instance_id: string; job_id: string }> {
    const now = Date.now();
    const m = this.blank(projectId, b.name, b.description, actor, now);
    m.settings = { ...m.settings, tenantVpcId: b.vpc_id, tenantSubnetId: b.subnet_id, tenantSecurityGroupId: b.security_group_id };
    const job: NewTask = {
      id: newTaskId(), projectId, instanceId: m.id, instanceName: m.name, name: 'createMigrationTask', details: {},
      userId: actor.userId, userName: actor.userName, params: JSON.stringify({ name: m.name }), state: {}, createdAt: now, steps: [],
    };
    await this.store.createMigration(m, job, null);
    return { instance_id: m.id, job_id: job.id };
  }

  /** POST /migration/{task_id}/task: settings, then a run (checks in §4.2's order). */
  async configure(projectId: string, id: string, b: ConfigureBody, actor: Actor): Promise<MigrationRecord> {
    const ends = checkEndpoints(b.source_instance, b.target_instance);
    const bandwidth = bandwidthOf(b.bandwidth_limit_mb);
    const m = await this.mustGet(projectId, id);
    await this.instancesMustExist(projectId, ends);
    await this.notOneRedis(ends);
    await this.targetNotInUse(projectId, m.id, ends.target);
    // Only an online migration has a source to configure: an import given one re-ran as a hybrid
    // of both. Refused where the status is checked, as batch-restart refuses imports (§4.5).
    if (m.migrationType !== 'online_migration') throw Errors.migrationState(m.status, 'an import cannot be configured; only an online migration can.');
    const settings: MigrationSettings = { ...m.settings, source: ends.source, target: ends.target };
    return this.start(projectId, m, {
      migrationMethod: b.migration_method, resumeMode: b.resume_mode || 'auto', bandwidthLimitMb: bandwidth, settings,
      secrets: { sourcePassword: b.source_instance.password ?? null, targetPassword: b.target_instance.password ?? null },
    }, actor);
  }

  /** POST /migration-task: an import, or an online migration created and started in one call. */
  async createTask(projectId: string, b: CreateTaskBody, actor: Actor): Promise<MigrationRecord> {
    const bandwidth = bandwidthOf(b.bandwidth_limit_mb);
    const now = Date.now();
    const m = this.blank(projectId, b.task_name, b.description, actor, now);
    let settings: MigrationSettings;
    if (b.migration_type === 'backupfile_import') {
      if (b.migration_method !== 'full_amount_migration') throw Errors.badParam('migration_method', 'an import is full_amount_migration only.');
      if (!b.target_instance.id || b.target_instance.addrs) throw Errors.badParam('target_instance.id', 'an import needs the id of an instance of this project.');
      if (!isUuid(b.target_instance.id)) throw Errors.badInstanceId();
      const files = await this.checkBackupFiles(projectId, b.backup_files);
      settings = { ...m.settings, target: { instanceId: b.target_instance.id, addrs: null }, backupFiles: files };
      await this.instancesMustExist(projectId, { source: null, target: settings.target });
      await this.targetNotInUse(projectId, m.id, settings.target!);
    } else {
      if (!b.source_instance) throw Errors.badParam('source_instance', 'is required for an online migration.');
      const ends = checkEndpoints(b.source_instance, b.target_instance);
      settings = { ...m.settings, ...ends };
      await this.instancesMustExist(projectId, ends);
      await this.notOneRedis(ends);
      await this.targetNotInUse(projectId, m.id, ends.target);
    }
    const record: MigrationRecord = {
      ...m, migrationType: b.migration_type, migrationMethod: b.migration_method, resumeMode: b.resume_mode || 'auto',
      bandwidthLimitMb: bandwidth, status: 'MIGRATING', settings: { ...settings, networkType: b.network_type ?? null },
      secrets: { sourcePassword: b.source_instance?.password ?? null, targetPassword: b.target_instance.password ?? null },
    };
    const run = this.runTask(record, actor, now);
    await this.store.createMigration({ ...record, runId: run.id }, null, run);
    this.d.kick();
    return { ...record, runId: run.id };
  }

  private async checkBackupFiles(projectId: string, b: CreateTaskBody['backup_files']): Promise<Record<string, unknown>> {
    if (!b || !b.file_source) throw Errors.badParam('backup_files', 'an import needs backup_files with a file_source.');
    if (b.file_source === 'backup_record') {
      if (!b.backup_id) throw Errors.badParam('backup_files.backup_id', 'is required for file_source backup_record.');
      // A backup of this project's instances (records.md): an rdb one whose file is in place.
      const backup = await this.d.store.records.getBackup(b.backup_id);
      if (!backup || backup.projectId !== projectId || backup.status !== 'succeed' || !backup.fileName) throw Errors.backupNotFound();
      if (backup.format !== 'rdb') throw Errors.badParam('backup_files.backup_id', 'only rdb backups can be imported.');
      const file = path.join(backupDirOf(this.d.dataDir, backup.instanceId, backup.id), backup.fileName);
      if (!fs.existsSync(file)) throw Errors.backupNotFound();
      return { file_source: b.file_source, backup_id: backup.id, paths: [file] };
    }
    if (b.file_source !== 'self_build_obs') throw Errors.badParam('backup_files.file_source', 'must be backup_record or self_build_obs.');
    if (!b.bucket_name || !/^[A-Za-z0-9._-]{1,63}$/.test(b.bucket_name) || b.bucket_name.startsWith('.')) {
      throw Errors.badParam('backup_files.bucket_name', 'must be a bucket name (letters, digits, ".", "_", "-").');
    }
    if (!b.files?.length) throw Errors.badParam('backup_files.files', 'must list at least one file.');
    for (const f of b.files) {
      if (!/^[A-Za-z0-9._-]{1,255}$/.test(f.file_name) || f.file_name.startsWith('.')) throw Errors.badParam('backup_files.files.file_name', `"${f.file_name}" is not a file name.`);
      if (!fs.existsSync(obsFile(this.d.dataDir, b.bucket_name, f.file_name))) {
        throw Errors.badParam('backup_files.files', `file ${f.file_name} is not in bucket ${b.bucket_name}.`);
      }
    }
    return { file_source: b.file_source, bucket_name: b.bucket_name, files: b.files, paths: b.files.map((f) => obsFile(this.d.dataDir, b.bucket_name!, f.file_name)) };
  }

  private async start(projectId: string, m: MigrationRecord, patch: Partial<MigrationRecord>, actor: Actor): Promise<MigrationRecord> {
    const run = this.runTask(m, actor, Date.now());
    const out = await this.store.startRun(projectId, m.id, STARTABLE_MIGRATION_STATUSES,
      { ...patch, status: 'MIGRATING', stopRequest: null, progress: NO_PROGRESS, replOffset: 0 }, run);
    if (!out.ok) throw startRefusal(out);
    this.d.kick();
    return out.migration;
  }

  async get(projectId: string, id: string): Promise<MigrationRecord> {
    return this.mustGet(projectId, id);
  }

  async list(projectId: string, name: string | undefined, offset: number, limit: number) {
    const { total, migrations } = await this.store.listMigrations(projectId, name, offset, limit);
    const errors = await this.store.latestErrors(migrations.map((m) => m.id));
    return { total, migrations, errors };
  }

  /** The instances a migration names, as stored now (absent when gone or given by address). */
  async instancesOf(m: MigrationRecord): Promise<{ source: InstanceRecord | null; target: InstanceRecord | null }> {
    const get = (e: MigrationEndpoint | null) => (e?.instanceId ? this.d.store.getInstance(m.projectId, e.instanceId) : Promise.resolve(null));
    const [source, target] = await Promise.all([get(m.settings.source), get(m.settings.target)]);
    return { source, target };
  }

  /** Where an endpoint is, for display (`host:port`), or null. */
  async addressOf(m: MigrationRecord, side: 'source' | 'target'): Promise<{ host: string; port: number } | null> {
    const e = m.settings[side];
    if (!e) return null;
    try {
      const t = await endpointTarget(this.d, e, null);
      return { host: t.host, port: t.port };
    } catch {
      return null;
    }
  }

  async stats(projectId: string, id: string): Promise<MigrationStats> {
    const m = await this.mustGet(projectId, id);
    const reach = async (side: 'source' | 'target') => {
      const e = m.settings[side];
      if (!e) return null;
      return endpointTarget(this.d, e, side === 'source' ? m.secrets.sourcePassword : m.secrets.targetPassword).catch(() => null);
    };
    const [src, dst] = await Promise.all([reach('source'), reach('target')]);
    const [sourceDbsize, targetDbsize, info] = await Promise.all([
      src ? totalKeys(src) : null,
      dst ? totalKeys(dst) : null,
      dst ? infoSection(dst, 'stats').catch(() => null) : null,
    ]);
    const p = m.progress;
    const progress = p.done ? 100 : p.total > 0 ? Math.min(99, Math.floor((p.copied * 100) / p.total)) : 0;
    return {
      progress, offset: m.replOffset, sourceDbsize, targetDbsize,
      targetInputKbps: info?.instantaneous_input_kbps ?? null, targetOps: info?.instantaneous_ops_per_sec ?? null,
      migrating: m.status === 'MIGRATING' || m.status === 'INCRMIGEATING',
    };
  }

  async logs(projectId: string, id: string, level: 'INFO' | 'ERROR' | undefined, offset: number, limit: number): Promise<{ total: number; logs: MigrationLog[] }> {
    await this.mustGet(projectId, id);
    return this.store.listLogs(id, level, offset, limit);
  }

  async stop(projectId: string, id: string): Promise<MigrationRecord> {
    const out = await this.store.requestStop(projectId, id, 'stop');
    if (!out.ok) throw stopRefusal(out, 'only a MIGRATING or INCRMIGEATING task can be stopped.');
    // A task stopping or stopped already is left as it is (automation.md §4.5), its log included.
    if (out.changed) await this.store.appendLog(id, 'INFO', 'stopping', 'Stop requested.', Date.now());
    return out.migration;
  }

  /** Ends the incremental phase; answers once the target is detached (the task SUCCESS), or after 15 s. */
  async syncStop(projectId: string, id: string): Promise<void> {
    const out = await this.store.requestStop(projectId, id, 'sync');
    if (!out.ok) throw stopRefusal(out, 'only an INCRMIGEATING task can be sync-stopped.');
    await this.store.appendLog(id, 'INFO', 'stopping', 'Stop of the incremental phase requested.', Date.now());
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      const m = await this.store.getMigration(projectId, id);
      if (!m || m.status !== 'INCRMIGEATING') return;
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  async batchStop(projectId: string, ids: string[]): Promise<BatchResult[]> {
    return this.batch(ids, (id) => this.stop(projectId, id));
  }

  /** Online tasks in TERMINATED, FAILED or SUCCESS run again with their settings. */
  async batchRestart(projectId: string, ids: string[], actor: Actor): Promise<BatchResult[]> {
    return this.batch(ids, async (id) => {
      const m = await this.mustGet(projectId, id);
      if (m.migrationType !== 'online_migration' || !m.settings.source || !m.settings.target || m.status === 'RUNNING') {
        throw Errors.migrationState(m.status, 'only a configured online migration that is TERMINATED, FAILED or SUCCESS can be restarted.');
      }
      await this.targetNotInUse(projectId, m.id, m.settings.target);
      await this.start(projectId, m, {}, actor);
    });
  }

  private async batch(ids: string[], one: (id: string) => Promise<unknown>): Promise<BatchResult[]> {
    const out: BatchResult[] = [];
    for (const id of ids) {
      try {
        if (!TASK_ID.test(id)) throw Errors.badTaskId();
        await one(id);
        out.push({ task_id: id, result: 'success', error_code: null, error_msg: null });
      } catch (e) {
        if (!(e instanceof DcsError)) throw e;
        out.push({ task_id: id, result: 'failed', error_code: e.code, error_msg: e.message });
      }
    }
    return out;
  }

  /** All or nothing, in §4.6's order; returns the ids deduplicated, in request order. */
  async delete(projectId: string, ids: string[], actor: Actor): Promise<string[]> {
    const unique = [...new Set(ids)];
    if (unique.some((id) => !TASK_ID.test(id))) throw Errors.badTaskId();
    const out = await this.store.deleteMigrations(projectId, unique, { ...actor, message: null });
    if (!out.ok) throw out.refused === 'not_found' ? Errors.migrationNotFound() : Errors.migrationRunning();
    return unique;
  }

  private async mustGet(projectId: string, id: string): Promise<MigrationRecord> {
    const m = await this.store.getMigration(projectId, id);
    if (!m) throw Errors.migrationNotFound();
    return m;
  }

  /** Which Redis an endpoint is, however it is named: an instance's id or its address, any spelling of loopback. */
  private async whereIs(e: MigrationEndpoint): Promise<string> {
    const t = await endpointTarget(this.d, e, null);
    return `${isLoopback(t.host) ? 'loopback' : t.host.toLowerCase()}:${t.port}`;
  }

  /** 400 when the source and the target are one Redis (copying a Redis onto itself). */
  private async notOneRedis(ends: { source: MigrationEndpoint; target: MigrationEndpoint }): Promise<void> {
    const [s, t] = await Promise.all([this.whereIs(ends.source), this.whereIs(ends.target)]);
    if (s === t) throw Errors.badParam('target_instance', 'the source and the target are the same Redis.');
  }

  /**
   * 400 DCS.4099 when another migration of the project that has not ended writes into the same
   * Redis: a second one re-pointed a following target at its own source, and the first then
   * reported writes as arrived that never did. (Two requests racing past this check are caught
   * by the run: a target following another master ends it FAILED.)
   */
  private async targetNotInUse(projectId: string, self: string, target: MigrationEndpoint | null): Promise<void> {
    if (!target) return;
    const mine = await this.whereIs(target).catch(() => null);
    if (mine === null) return; // an instance gone: the start refuses it (DCS.3022)
    for (let offset = 0; ; offset += 500) {
      const { migrations } = await this.store.listMigrations(projectId, undefined, offset, 500);
      for (const other of migrations) {
        if (other.id === self || !other.settings.target || !RUNNING_MIGRATION_STATUSES.includes(other.status)) continue;
        const theirs = await this.whereIs(other.settings.target).catch(() => null);
        if (theirs === mine) throw Errors.targetInMigration(target.addrs ?? `instance ${target.instanceId}`, other.id);
      }
      if (migrations.length < 500) return;
    }
  }

  private async instancesMustExist(projectId: string, ends: { source: MigrationEndpoint | null; target: MigrationEndpoint | null }): Promise<void> {
    for (const e of [ends.source, ends.target]) {
      if (e?.instanceId && !(await this.d.store.getInstance(projectId, e.instanceId))) throw Errors.instanceNotFound();
    }
  }
}

function endpointOf(b: EndpointBody, name: string): MigrationEndpoint {
  if ((b.id === undefined) === (b.addrs === undefined)) throw Errors.badParam(name, 'needs exactly one of id and addrs.');
  if (b.id !== undefined && !isUuid(b.id)) throw Errors.badInstanceId();
  if (b.addrs !== undefined) {
    try {
      parseAddrs(b.addrs);
    } catch (e) {
      throw Errors.badParam(`${name}.addrs`, (e as Error).message);
    }
  }
  return { instanceId: b.id ?? null, addrs: b.addrs ?? null };
}


function checkEndpoints(source: EndpointBody, target: EndpointBody): { source: MigrationEndpoint; target: MigrationEndpoint } {
  const s = endpointOf(source, 'source_instance');
  const t = endpointOf(target, 'target_instance');
  if ((s.instanceId && s.instanceId === t.instanceId) || (s.addrs && s.addrs === t.addrs)) {
    throw Errors.badParam('target_instance', 'the source and the target are the same.');
  }
  return { source: s, target: t };
}

function bandwidthOf(v: string | undefined): number | null {
  if (v === undefined || v === '') return null;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 10000) throw Errors.badParam('bandwidth_limit_mb', 'must be an integer from 1 to 10000 (MB/s).');
  return Number(v);
}

function startRefusal(out: Exclude<StartRunOutcome, { ok: true }>): DcsError {
  if (out.refused === 'not_found') return Errors.migrationNotFound();
  if (out.refused === 'instance_gone') return Errors.instanceNotFound();
  return Errors.migrationState(out.status, 'it can be (re)started only when RUNNING, SUCCESS, FAILED or TERMINATED.');
}

function stopRefusal(out: Exclude<StopOutcome, { ok: true }>, what: string): DcsError {
  return out.refused === 'not_found' ? Errors.migrationNotFound() : Errors.migrationState(out.status, what);
}
