/**
 * What automation reads about instances (automation.md §1.1, §3.1, §3.2): the running task an
 * instance shows, the status that task implies, the list filters and the status counts.
 */
import type { TaskRecord } from '../tasks/records.js';
import type { InstanceRecord } from './records.js';

/** Show-instance's `task`: the instance's unfinished task (set in the transaction that accepted it), or null. */
export interface RunningTask {
  id: string;
  name: string;
  status: TaskRecord['status'];
  createdAt: number;
}

/** An instance with its running task, as show and list report it. */
export interface InstanceState {
  instance: InstanceRecord;
  task: RunningTask | null;
}

/**
 * The DCS status a running task shows while the record still says RUNNING (§1.1). The restore
 * sets RESTORING itself; it is here too because a restart of the service records RUNNING once
 * it has started the instance again, before the resumed restore goes on (keyed by the shown
 * task name, runningTaskOf).
 */
const STATUS_WHILE: Record<string, string> = {
  restartInstance: 'RESTARTING',
  softRestartInstance: 'RESTARTING',
  EXTEND: 'EXTENDING',
  flushInstance: 'FLUSHING',
  restore: 'RESTORING',
};

export function visibleStatus(s: InstanceState): string {
  const during = s.task ? STATUS_WHILE[s.task.name] : undefined;
  return during && s.instance.status === 'RUNNING' ? during : s.instance.status;
}

/** automation.md §1.1: a backup's or restore's task is named `backup` / `restore`, not by its engine operation (operations/backup.ts). */
const SHOWN_NAME: Record<string, string> = { backupRecord: 'backup', restoreRecord: 'restore' };

export function runningTaskOf(t: TaskRecord): RunningTask {
  return { id: t.id, name: SHOWN_NAME[t.name] ?? t.name, status: t.status, createdAt: t.createdAt };
}

/** ListInstancesRequest's filters (plus the provider's `capacity`), parsed. */
export interface InstanceFilter {
  instanceId?: string;
  name?: string;
  nameEqual?: boolean;
  includeFailure?: boolean;
  status?: string;
  ip?: string;
  /** key → value, or null for "any value". */
  tags?: [string, string | null][];
  capacity?: number;
}

export function matchesFilter(s: InstanceState, f: InstanceFilter): boolean {
  const i = s.instance;
  const status = visibleStatus(s);
  if (f.instanceId !== undefined && i.id !== f.instanceId) return false;
  if (f.name !== undefined && (f.nameEqual ? i.name !== f.name : !i.name.includes(f.name))) return false;
  // automation.md §3.1: CREATEFAILED only with include_failure=true, whatever else is asked (status included).
  if (status === 'CREATEFAILED' && !f.includeFailure) return false;
  if (f.status !== undefined && status !== f.status) return false;
  if (f.ip !== undefined && i.host !== f.ip) return false;
  if (f.capacity !== undefined && i.capacityGb !== f.capacity) return false;
  if (f.tags) {
    const tags = tagsOf(i);
    for (const [k, v] of f.tags) if (!tags.some((t) => t.key === k && (v === null || t.value === v))) return false;
  }
  return true;
}

export function tagsOf(i: InstanceRecord): { key: string; value: string }[] {
  const tags = Array.isArray(i.extra.tags) ? (i.extra.tags as { key: string; value?: string }[]) : [];
  return tags.map((t) => ({ key: t.key, value: t.value ?? '' }));
}

/** The status counters of StatusStatistic, in the SDK's order. */
export const STATUS_COUNTERS = [
  'paying', 'freezing', 'migrating', 'flushing', 'upgrading', 'restoring', 'extending', 'creating', 'running', 'error', 'frozen',
  'createfailed', 'restarting',
] as const;

/** `<status>_count` for each counter over the project's instances; CREATEFAILED only when asked for. */
export function statusCounts(states: InstanceState[], includeFailure: boolean): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(STATUS_COUNTERS.map((c) => [`${c}_count`, 0]));
  for (const s of states) {
    const key = `${visibleStatus(s).toLowerCase()}_count`;
    if (key === 'createfailed_count' && !includeFailure) continue;
    if (key in out) out[key] += 1;
  }
  return out;
}
