/**
 * The autoscan scheduler (records.md §3–5, D11), a small component beside the engine's
 * Maintenance: each look reads the stored configurations and creates the scan of each slot that
 * is due. The next look is timed for the earliest slot ahead (so an expired-key scan every few
 * seconds runs at each `first_scan_at + k × interval`, not at the next tick), and comes after
 * `tickMs` at the latest, which is how a configuration set through another node is seen; a
 * configuration set through this node wakes it at once. A slot's record id is derived from
 * (instance, kind, slot time), so when every
 * node of a cluster ticks, the store inserts the slot's record once and refuses the others;
 * after a restart the configuration is read again from the store, so schedules persist.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { DcsError } from '../errors.js';
import type { Store } from '../store/types.js';
import { parseFirstScanAt, type DailyConfig, type ExpireConfig } from './autoscan.js';
import type { ScanKind } from './records.js';
import type { ScanService } from './scans.js';
import type { BackupService } from './backups.js';
import type { StoredBackupPolicy } from './backup-policy.js';

/** D11: an occurrence missed while the service was down runs at start-up only within this window. */
const CATCH_UP_MS = 60 * 60_000;
const DAY_MS = 24 * 3600_000;
const SCHEDULER = { userId: 'dcs-tasks', userName: 'scheduler' };

/** The `schedule_at` times (`HH:mm`, UTC) on the day of `now`. */
const dailyTimes = (c: DailyConfig, now: number): number[] =>
  c.schedule_at.map((t) => now - (now % DAY_MS) + (Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5))) * 60_000);

/** The latest daily `HH:mm` (UTC) slot at or before `now`, or null. */
export function lastDailySlot(c: DailyConfig, now: number): number | null {
  const slots = dailyTimes(c, now).map((at) => (at <= now ? at : at - DAY_MS));
  return slots.length ? Math.max(...slots) : null;
}

/** The latest `first_scan_at + k × interval` slot at or before `now`, or null. */
export function lastIntervalSlot(c: ExpireConfig, now: number): number | null {
  if (c.first_scan_at === null || c.interval === null) return null;
  const first = parseFirstScanAt(c.first_scan_at);
  if (now < first) return null;
  if (c.interval === 0) return first;
  const step = c.interval * 1000;
  return first + Math.floor((now - first) / step) * step;
}

/** The first `first_scan_at + k × interval` slot after `now`, or null (none, or no more). */
export function nextIntervalSlot(c: ExpireConfig, now: number): number | null {
  if (c.first_scan_at === null || c.interval === null) return null;
  const first = parseFirstScanAt(c.first_scan_at);
  if (now < first) return first;
  if (c.interval === 0) return null;
  return (lastIntervalSlot(c, now) ?? first) + c.interval * 1000;
}

/** The first daily `HH:mm` (UTC) slot after `now`, or null. */
export function nextDailySlot(c: DailyConfig, now: number): number | null {
  const slots = dailyTimes(c, now).map((at) => (at > now ? at : at + DAY_MS));
  return slots.length ? Math.min(...slots) : null;
}

/**
 * The automatic backup slot under way at `now`: the `begin_at` hour (UTC) that has started and
 * not ended, on a weekday of `backup_at` (1 = Monday). Past the hour the occurrence is skipped.
 */
export function currentBackupSlot(p: StoredBackupPolicy['policy'], now: number): number | null {
  const at = backupHourOn(p, now);
  if (at === null) return null;
  const slot = at > now ? at - DAY_MS : at;
  const weekday = ((new Date(slot).getUTCDay() + 6) % 7) + 1;
  return now - slot < 3600_000 && p.periodical_backup_plan!.backup_at.includes(weekday) ? slot : null;
}

/** The next start of the `begin_at` hour (UTC) after `now` (on any weekday: a look on a day without a backup finds nothing), or null. */
export function nextBackupHour(p: StoredBackupPolicy['policy'], now: number): number | null {
  const at = backupHourOn(p, now);
  return at === null ? null : at > now ? at : at + DAY_MS;
}

/** The start of an automatic policy's `begin_at` hour (UTC) on the day of `now`; null without one. */
function backupHourOn(p: StoredBackupPolicy['policy'], now: number): number | null {
  const plan = p.periodical_backup_plan;
  if (p.backup_type !== 'auto' || !plan) return null;
  return now - (now % DAY_MS) + Number(plan.begin_at.slice(0, 2)) * 3600_000;
}

/** A UUID that names one slot of one schedule, the same on every node. */
export function slotId(instanceId: string, kind: string, slot: number): string {
  const h = createHash('sha256').update(`${instanceId}/${kind}/${slot}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** How late after its slot a timed look may come: timers fire late, never early, but not to the ms. */
const TIMER_SLACK_MS = 5;

export class AutoscanScheduler {
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private ticking = false;
  /** A wake-up asked for while a look ran: look again when it ends. */
  private again = false;
  /** The earliest slot ahead that the current look has seen. */
  private nextSlot: number | null = null;
  /** The `now` of the last complete look; null before the first (the start-up look, D11's catch-up). */
  private lastTick: number | null = null;

  constructor(private readonly o: { store: Store; scans: ScanService; backups: BackupService; logger: Logger; tickMs: number }) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** A configuration changed: look now (after the look under way, if one is). */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) this.again = true;
    else void this.tick().then(() => this.arm());
  }

  /** The next look: at the earliest slot ahead, after `tickMs` at the latest. */
  private arm(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const wait = this.again ? 0 : Math.min(this.o.tickMs, this.nextSlot === null ? Infinity : this.nextSlot - Date.now() + TIMER_SLACK_MS);
    this.again = false;
    this.timer = setTimeout(() => void this.tick().then(() => this.arm()), Math.max(0, wait));
    this.timer.unref();
  }

  /** One look at every configuration; creates what is due. Never throws. */
  async tick(now = Date.now()): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    this.nextSlot = null;
    try {
      const removed = await this.o.backups.removeFilesOfGoneBackups();
      if (removed) this.o.logger.info({ backups: removed }, 'removed the files of backups deleted or expired through another node');
      for (const c of await this.o.store.records.listAutoscanConfigs()) {
        if (c.kind === 'backup') await this.backupDue(c.instanceId, c.config as unknown as StoredBackupPolicy, now);
        else if (c.config.enable_auto_scan === true) await this.runDue(c.instanceId, c.kind, c.config, c.updatedAt, now);
      }
      this.lastTick = now;
    } catch (e) {
      this.o.logger.warn({ err: (e as Error).message }, 'autoscan scheduler tick failed');
    } finally {
      this.ticking = false;
    }
  }

  private slotAhead(at: number | null): void {
    if (at !== null && (this.nextSlot === null || at < this.nextSlot)) this.nextSlot = at;
  }

  /** The slot's automatic backup, once; and the retention of automatic backups (current save_days). */
  private async backupDue(instanceId: string, p: StoredBackupPolicy, now: number): Promise<void> {
    if (p.policy.save_days !== null) await this.o.backups.expireAutoBackups(instanceId, p.policy.save_days, now);
    this.slotAhead(nextBackupHour(p.policy, now));
    const slot = currentBackupSlot(p.policy, now);
    if (slot === null) return;
    const i = await this.o.store.getInstanceById(instanceId);
    if (i && (await this.o.backups.createAutoBackup(i, slotId(instanceId, 'backup', slot), p.policy.periodical_backup_plan!.begin_at))) {
      this.o.logger.info({ instance: instanceId, slot: new Date(slot).toISOString() }, 'automatic backup created');
    }
  }

  /** `setAt`: when the configuration was stored; a slot before it never counts (not even at start-up). */
  private async runDue(instanceId: string, kind: ScanKind, config: Record<string, unknown>, setAt: number, now: number): Promise<void> {
    const c = { instanceId, kind };
    const expire = kind === 'expire' ? (config as unknown as ExpireConfig) : null;
    const slot = expire ? lastIntervalSlot(expire, now) : lastDailySlot(config as unknown as DailyConfig, now);
    this.slotAhead(expire ? nextIntervalSlot(expire, now) : nextDailySlot(config as unknown as DailyConfig, now));
    if (slot === null || slot < setAt || now - slot > CATCH_UP_MS) return;
    // A slot gets one look: at the first tick after it, or at start-up when it was missed while the
    // service was down (D11). Refused then (one in flight, the instance not RUNNING), it is skipped.
    if (this.lastTick !== null && slot <= this.lastTick) return;
    const i = await this.o.store.getInstanceById(c.instanceId);
    if (!i) return;
    const id = slotId(c.instanceId, c.kind, slot);
    if (await this.o.store.records.getScan(id)) return;
    try {
      await this.o.scans.create(i.projectId, i.id, c.kind, SCHEDULER, {
        id, scanType: 'auto', state: expire ? { count: expire.scan_keys_count ?? undefined, timeoutSeconds: expire.timeout } : {},
      });
      this.o.logger.info({ instance: i.id, kind: c.kind, slot: new Date(slot).toISOString() }, 'automatic scan created');
    } catch (e) {
      // In flight already, instance not RUNNING, slot taken by another node: this slot is skipped.
      if (!(e instanceof DcsError)) throw e;
      this.o.logger.info({ instance: i.id, kind: c.kind, slot: new Date(slot).toISOString(), code: e.code }, 'automatic scan skipped');
    }
  }
}
