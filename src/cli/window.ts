/** --offset/--limit/--start-time/--end-time of the task lists. */
import { InvalidArgumentError, type Command } from 'commander';
import { intArg } from './connection.js';

export interface WindowFlags {
  offset?: number;
  limit?: number;
  startTime?: string;
  endTime?: string;
}

const TIME_FORMATS = 'yyyyMMddHHmmss in UTC (e.g. 20261125093000) or ISO-8601 (e.g. 2026-11-25T09:30:00Z; without a zone, UTC) is expected';
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Epoch ms of a calendar time if every field is in range (no 31 February, no hour 24), else null. */
function realTime(y: number, mo: number, d: number, h = 0, mi = 0, sec = 0): number | null {
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec);
  const t = new Date(ms);
  const same = t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && t.getUTCHours() === h && t.getUTCMinutes() === mi && t.getUTCSeconds() === sec;
  return same && y >= 1970 ? ms : null;
}

/** yyyyMMddHHmmss (UTC, as the API takes it) or an ISO-8601 time, converted; impossible dates are refused. */
export function timeArg(value: string): string {
  const compact = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value);
  if (compact) {
    const [y, mo, d, h, mi, sec] = compact.slice(1).map(Number) as [number, number, number, number, number, number];
    if (realTime(y, mo, d, h, mi, sec) === null) throw new InvalidArgumentError(`${value} is not a real time: ${TIME_FORMATS}.`);
    return value;
  }
  const iso = ISO.exec(value);
  if (!iso) throw new InvalidArgumentError(`${TIME_FORMATS}.`);
  const [y, mo, d, h, mi, sec] = iso.slice(1, 7).map((x) => (x === undefined ? 0 : Number(x))) as number[];
  if (realTime(y!, mo!, d!, h!, mi!, sec!) === null) throw new InvalidArgumentError(`${value} is not a real time: ${TIME_FORMATS}.`);
  const zone = iso[7] ?? 'Z';
  const ms = Date.parse(`${value.slice(0, 10)}T${iso[4] ?? '00'}:${iso[5] ?? '00'}:${iso[6] ?? '00'}${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`);
  if (Number.isNaN(ms) || ms < 0) throw new InvalidArgumentError(`${value} is not a real time: ${TIME_FORMATS}.`);
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** A time flag the API takes as ISO-8601 UTC (first_scan_at): either form, checked, as ISO ms Z. */
export function isoTimeArg(value: string): string {
  const c = timeArg(value);
  return `${c.slice(0, 4)}-${c.slice(4, 6)}-${c.slice(6, 8)}T${c.slice(8, 10)}:${c.slice(10, 12)}:${c.slice(12, 14)}.000Z`;
}

export function windowOptions(cmd: Command): Command {
  return cmd
    .option('--offset <n>', 'skip this many tasks', intArg(0))
    .option('--limit <n>', 'page size, 1-1000 (default 10)', intArg(1, 1000))
    .option('--start-time <time>', 'created at or after (yyyyMMddHHmmss UTC or ISO-8601, e.g. 2026-11-25T09:30:00Z)', timeArg)
    .option('--end-time <time>', 'created at or before (inclusive)', timeArg);
}

/** The flags that repeat a task-list window on the next page (all but --offset). */
export function windowFlags(f: WindowFlags): string[] {
  return [
    f.limit !== undefined ? `--limit ${f.limit}` : '',
    f.startTime !== undefined ? `--start-time ${f.startTime}` : '',
    f.endTime !== undefined ? `--end-time ${f.endTime}` : '',
  ].filter(Boolean);
}

/**
 * "1-10 of 23 tasks; next page: dcs-tasks centre list --limit 10 --offset 10": the range shown
 * and, when more follow, the command that shows them (same flags, next offset).
 */
export function pageLine(command: string, flags: string[], offset: number, shown: number, total: number, unit = 'tasks'): string {
  if (shown === 0) return `0 of ${total} ${unit}${offset > 0 && total > 0 ? ` (offset ${offset} is past the end)` : ''}`;
  const range = `${offset + 1}-${offset + shown} of ${total} ${unit}`;
  if (offset + shown >= total) return range;
  return `${range}; next page: ${[command, ...flags].join(' ')} --offset ${offset + shown}`;
}

/** The flags a next-page command repeats: those given, as `--name value`. */
export function repeated(flags: Record<string, string | number | undefined>): string[] {
  return Object.entries(flags).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${k} ${v}`);
}
