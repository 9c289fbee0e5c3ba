/**
 * ScanService: the rules of big-key and hot-key analyses and expired-key scans (records.md §3–5,
 * §6) — creating them (the store decides atomically: one of each kind in flight, none during a
 * restore), reading them with their effective status, deleting a finished analysis, and the
 * autoscan configurations the scheduler reads.
 */
import { randomUUID } from 'node:crypto';
import { DcsError, Errors } from '../errors.js';
import type { TaskEngine } from '../engine/engine.js';
import type { InstanceStatus } from '../instances/records.js';
import type { InstanceRuntime } from '../instances/runtime.js';
import type { InstanceService } from '../instances/service.js';
import { restoreOperation } from '../operations/backup.js';
import { bigkeyOperation, expireScanOperation, hotkeyOperation, type ScanState } from '../operations/scans.js';
import type { InstanceOperation } from '../operations/operation.js';
import { configGet } from '../redis/commands.js';
import { redisVersion } from '../redis/keyspace.js';
import { isActive } from '../store/record-rows.js';
import type { CreateScanOutcome, Store } from '../store/types.js';
import { busyError, type Actor } from '../tasks/service.js';
import { AutoscanConfigs, type ExpireConfig } from './autoscan.js';
import { SCAN_IN_FLIGHT, type ScanKind, type ScanQuery, type ScanRecord } from './records.js';
import { isUuid } from '../ids.js';

/** Every status but RUNNING refuses a scan (DCS.4049) when no task runs. */
const NOT_RUNNING: InstanceStatus[] = ['CREATING', 'RESTARTING', 'RESTORING', 'ERROR', 'DELETING', 'CREATEFAILED'];

export const ScanErrors = {
  bigkeyRunning: () => new DcsError('DCS.4918', 'Instance bigkey analyze is running.'),
  noSuchBigkey: () => new DcsError('DCS.4942', 'The bigkey id does not exist.'),
  noSuchHotkey: () => new DcsError('DCS.4941', 'The hotkey id does not exist.'),
  noHotkeyAnalysis: () => new DcsError('DCS.4922', 'Does not support hotkey analyze.'),
  noExpireScan: () => new DcsError('DCS.4818', 'Do not support auto expire scan.'),
  notRunning: (status: InstanceStatus) => new DcsError('DCS.4049', `The instance status is ${status}, not RUNNING.`),
};

interface Family {
  operation: InstanceOperation<ScanState>;
  /** A second one in flight. */
  inFlight: () => DcsError;
  /** Malformed or unknown id (expired-key scans have no id route). */
  unknown: () => DcsError;
}

const FAMILIES: Record<ScanKind, Family> = {
  bigkey: { operation: bigkeyOperation, inFlight: ScanErrors.bigkeyRunning, unknown: ScanErrors.noSuchBigkey },
  hotkey: { operation: hotkeyOperation, inFlight: Errors.taskRunning, unknown: ScanErrors.noSuchHotkey },
  expire: { operation: expireScanOperation, inFlight: Errors.taskRunning, unknown: Errors.taskNotFound },
};

/**
 * A scan as shown: running until its engine task has ended (the task writes the outcome in its
 * last step and ends a moment later; until then the instance cannot be deleted), failed if it was
 * in flight when its task ended (interrupted for good, e.g. its node died).
 */
export function effectiveScan(s: ScanRecord): ScanRecord {
  if (isActive(s.taskStatus)) return SCAN_IN_FLIGHT.includes(s.status) ? s : { ...s, status: 'running', finishedAt: null, num: 0, keys: null, failReason: null };
  if (!SCAN_IN_FLIGHT.includes(s.status)) return s;
  return {
    ...s, status: 'failed', failReason: s.failReason ?? s.taskFailReason ?? 'The scan was interrupted.',
    // records.md: finished_at is null only until success/failed.
    finishedAt: s.finishedAt ?? s.taskFinishedAt ?? s.startedAt ?? s.createdAt,
  };
}

export class ScanService {
  readonly configs: AutoscanConfigs;

  constructor(
    private readonly store: Store,
    private readonly engine: TaskEngine,
    private readonly instances: InstanceService,
    private readonly runtime: InstanceRuntime,
  ) {
    this.configs = new AutoscanConfigs(store);
  }

  /**
   * Records a scan and starts it. `state` carries an automatic run's limits. The hot-key
   * precondition (LFU policy, Redis ≥ 4.0) and the expired-key one (Redis ≥ 4.0) are read from
   * the instance's Redis before anything is written.
   */
  async create(projectId: string, instanceId: string, kind: ScanKind, actor: Actor, o: { scanType?: 'manual' | 'auto'; state?: ScanState; id?: string } = {}): Promise<ScanRecord> {
    const i = await this.instances.operable(projectId, instanceId);
    // An automatic run is not refused for its precondition: it ends failed, saying why.
    if (kind !== 'bigkey' && o.scanType !== 'auto' && i.status === 'RUNNING') await this.precondition(kind, this.runtime.targetOf(i));
    const state = o.state ?? (kind === 'expire' ? await this.manualExpireState(instanceId) : {});
    const now = Date.now();
    const op = FAMILIES[kind].operation;
    const record: ScanRecord = {
      id: o.id ?? randomUUID(), projectId, instanceId, kind, scanType: o.scanType ?? 'manual', status: 'waiting', createdAt: now,
      startedAt: null, finishedAt: null, num: 0, keys: null, failReason: null,
    };
    const out = await this.store.records.createScan({
      id: record.id, projectId, instanceId, instanceName: i.name, name: op.name, details: {}, userId: actor.userId, userName: actor.userName,
      params: '{}', state: { ...state }, createdAt: now, steps: op.steps.map((s) => s.name),
    }, record, { refuseStatuses: NOT_RUNNING, refuseDuring: [restoreOperation.name] });
    if (!out.ok) throw this.refusal(kind, out);
    this.engine.kick();
    return record;
  }

  /** A manual expired-key scan uses the configured scan_keys_count and timeout, if any (else COUNT 1000, no timeout; D8). */
  private async manualExpireState(instanceId: string): Promise<ScanState> {
    const c = (await this.store.records.getAutoscanConfig(instanceId, 'expire'))?.config as Partial<ExpireConfig> | undefined;
    return { count: c?.scan_keys_count ?? undefined, timeoutSeconds: c?.timeout ?? null };
  }

  private async precondition(kind: ScanKind, target: ReturnType<InstanceRuntime['targetOf']>): Promise<void> {
    const [major] = await redisVersion(target).catch((e: Error) => {
      throw Errors.redisUnavailable(`The instance's Redis does not answer: ${e.message}`);
    });
    if (kind === 'expire') {
      if (major < 4) throw ScanErrors.noExpireScan();
      return;
    }
    const policy = await configGet(target, 'maxmemory-policy');
    if (major < 4 || !policy || !/lfu$/.test(policy)) throw ScanErrors.noHotkeyAnalysis();
  }

  private refusal(kind: ScanKind, out: Exclude<CreateScanOutcome, { ok: true }>): DcsError {
    switch (out.refused) {
      case 'instance_gone': return Errors.instanceNotFound();
      case 'busy': return busyError(out.activeTaskName);
      case 'instance_state': return ScanErrors.notRunning(out.status);
      case 'scan_in_flight':
      case 'duplicate': return FAMILIES[kind].inFlight();
    }
  }

  private async instanceMustExist(projectId: string, instanceId: string): Promise<void> {
    if (!(await this.store.getInstance(projectId, instanceId))) throw Errors.instanceNotFound();
  }

  async list(projectId: string, instanceId: string, kind: ScanKind, q: ScanQuery) {
    await this.instanceMustExist(projectId, instanceId);
    const { count, sumNum, items } = await this.store.records.listScans(instanceId, kind, q);
    return { count, sumNum, items: items.map(effectiveScan) };
  }

  async show(projectId: string, instanceId: string, kind: ScanKind, id: string): Promise<ScanRecord> {
    if (!isUuid(id)) throw FAMILIES[kind].unknown();
    await this.instanceMustExist(projectId, instanceId);
    const s = await this.store.records.getScan(id);
    if (!s || s.instanceId !== instanceId || s.kind !== kind) throw FAMILIES[kind].unknown();
    return effectiveScan(s);
  }

  /** Removes a finished analysis; the answer is the record as it was. */
  async delete(projectId: string, instanceId: string, kind: ScanKind, id: string, actor: Actor): Promise<ScanRecord> {
    await this.show(projectId, instanceId, kind, id);
    const out = await this.store.records.deleteScan(instanceId, kind, id, actor, Date.now());
    if (out.outcome === 'not_found') throw FAMILIES[kind].unknown();
    if (out.outcome === 'running') throw Errors.taskRunning();
    return effectiveScan(out.scan);
  }
}
