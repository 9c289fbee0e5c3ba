/**
 * Autoscan configurations (records.md §3–5): big-key and hot-key analyses run every day at each
 * `schedule_at` (HH:mm UTC); expired-key scans at `first_scan_at` + k × `interval`. Checked here,
 * stored per instance and kind; the scheduler (records/scheduler.ts) reads them.
 */
import { DcsError, Errors } from '../errors.js';
import type { Store } from '../store/types.js';
import type { ScanKind } from './records.js';

export interface DailyConfig {
  enable_auto_scan: boolean;
  schedule_at: string[];
}

export interface ExpireConfig {
  enable_auto_scan: boolean;
  first_scan_at: string | null;
  interval: number | null;
  timeout: number | null;
  scan_keys_count: number | null;
}

export type ExpireConfigBody = Partial<ExpireConfig>;

/** Seconds fit a 32-bit integer, as DCS's own fields do (a client reading 1e+300 into an int fails). */
const MAX_SECONDS = 2 ** 31 - 1;
const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
/** ISO-8601 UTC, `Z`, seconds and milliseconds as the contract allows. */
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?Z?$/;

export function checkDailyConfig(b: DailyConfig): DailyConfig {
  const times = b.schedule_at;
  const bad = times.find((t) => !HH_MM.test(t));
  if (bad !== undefined) throw Errors.badParam('schedule_at', `"${bad.slice(0, 16)}" is not a time HH:mm (UTC).`);
  if (new Set(times).size !== times.length) throw Errors.badParam('schedule_at', 'the times must be distinct.');
  if (times.length > 24) throw Errors.badParam('schedule_at', 'at most 24 times.');
  if (b.enable_auto_scan && times.length === 0) throw Errors.badParam('schedule_at', 'at least one time is needed to enable automatic analysis.');
  return { enable_auto_scan: b.enable_auto_scan, schedule_at: [...times].sort() };
}

/** Epoch ms of first_scan_at, or a DCS.4819 error. */
export function parseFirstScanAt(v: string): number {
  // RFC 3339 allows "t" and "z" in lower case; the Terraform provider's documented example and
  // acceptance test send "…T15:00:05.000z".
  const u = v.toUpperCase();
  const ms = ISO_UTC.test(u) ? Date.parse(u.endsWith('Z') ? u : `${u}Z`) : NaN;
  // Date.parse rolls impossible dates over (02-30 → 03-02, 24:00 → the next day): the date and
  // time read back must be the ones written.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 16) !== u.slice(0, 16)) {
    throw new DcsError('DCS.4819', 'first_scan_at must be an ISO-8601 UTC time (a real date and time).');
  }
  return ms;
}

/** Merges a PUT body into the stored config (absent fields keep their value) and checks the result. */
export function mergeExpireConfig(stored: ExpireConfig, b: ExpireConfigBody, now: number): ExpireConfig {
  let firstScanAt = stored.first_scan_at;
  if (b.first_scan_at !== undefined && b.first_scan_at !== null) {
    const ms = parseFirstScanAt(b.first_scan_at);
    if (ms <= now) throw new DcsError('DCS.4819', 'first_scan_at must be later than now.');
    firstScanAt = new Date(ms).toISOString();
  }
  if (b.interval !== undefined && b.interval !== null && (b.interval < 0 || b.interval > MAX_SECONDS)) {
    throw new DcsError('DCS.4820', `interval must be from 0 to ${MAX_SECONDS} seconds.`);
  }
  // More than 1 s whatever the interval (> 1 with interval 0, ≥ 2 × interval otherwise), also
  // while no interval is set: a timeout of 0 or -5 stored then made every scan fail at once.
  if (b.timeout !== undefined && b.timeout !== null && (b.timeout < 2 || b.timeout > MAX_SECONDS)) {
    throw new DcsError('DCS.4821', `timeout must be from 2 to ${MAX_SECONDS} seconds (and at least twice the interval).`);
  }
  if (b.scan_keys_count !== undefined && b.scan_keys_count !== null && (b.scan_keys_count < 10 || b.scan_keys_count > 1000)) {
    throw new DcsError('DCS.4822', 'scan_keys_count must be from 10 to 1000.');
  }
  const next: ExpireConfig = {
    enable_auto_scan: b.enable_auto_scan ?? stored.enable_auto_scan,
    first_scan_at: firstScanAt,
    interval: b.interval ?? stored.interval,
    timeout: b.timeout ?? stored.timeout,
    scan_keys_count: b.scan_keys_count ?? stored.scan_keys_count,
  };
  if (next.timeout !== null && next.interval !== null) {
    const ok = next.interval === 0 ? next.timeout > 1 : next.timeout >= 2 * next.interval;
    if (!ok) throw new DcsError('DCS.4821', 'timeout must be at least twice the interval (more than 1 when the interval is 0).');
  }
  if (next.enable_auto_scan) {
    for (const f of ['first_scan_at', 'interval', 'timeout', 'scan_keys_count'] as const) {
      if (next[f] === null) throw Errors.badParam(f, 'is needed to enable automatic scans.');
    }
  }
  return next;
}

export const DAILY_DEFAULT: DailyConfig = { enable_auto_scan: false, schedule_at: [] };
export const EXPIRE_DEFAULT: ExpireConfig = { enable_auto_scan: false, first_scan_at: null, interval: null, timeout: null, scan_keys_count: null };

/** The stored configurations with their defaults before the first PUT. */
export class AutoscanConfigs {
  /** Told after each change is stored (the scheduler wakes, server.ts). */
  onChange: () => void = () => {};

  constructor(private readonly store: Store) {}

  async get<C extends DailyConfig | ExpireConfig>(projectId: string, instanceId: string, kind: ScanKind): Promise<{ config: C; updatedAt: number | null }> {
    if (!(await this.store.getInstance(projectId, instanceId))) throw Errors.instanceNotFound();
    const c = await this.store.records.getAutoscanConfig(instanceId, kind);
    const def = kind === 'expire' ? EXPIRE_DEFAULT : DAILY_DEFAULT;
    return { config: { ...def, ...(c?.config ?? {}) } as C, updatedAt: c?.updatedAt ?? null };
  }

  async putDaily(projectId: string, instanceId: string, kind: 'bigkey' | 'hotkey', b: DailyConfig): Promise<{ config: DailyConfig; updatedAt: number }> {
    if (!(await this.store.getInstance(projectId, instanceId))) throw Errors.instanceNotFound();
    const config = checkDailyConfig(b);
    const updatedAt = Date.now();
    await this.store.records.putAutoscanConfig({ instanceId, kind, config: { ...config }, updatedAt });
    this.onChange();
    return { config, updatedAt };
  }

  async putExpire(projectId: string, instanceId: string, b: ExpireConfigBody): Promise<{ config: ExpireConfig; updatedAt: number }> {
    const { config: stored } = await this.get<ExpireConfig>(projectId, instanceId, 'expire');
    const updatedAt = Date.now();
    const config = mergeExpireConfig(stored, b, updatedAt);
    await this.store.records.putAutoscanConfig({ instanceId, kind: 'expire', config: { ...config }, updatedAt });
    this.onChange();
    return { config, updatedAt };
  }
}
