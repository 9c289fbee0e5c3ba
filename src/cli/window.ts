/** --offset/--limit/--start-time/--end-time of the task lists. */
import { InvalidArgumentError, type Command } from 'commander';
import { intArg } from './connection.js';

export interface WindowFlags {
  offset?: number;
  limit?: number;
  startTime?: string;
  endTime?: string;
}

/** yyyyMMddHHmmss (UTC, as the API takes it) or an ISO-8601 time, converted. */
export function timeArg(value: string): string {
  if (/^\d{14}$/.test(value)) return value;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new InvalidArgumentError('yyyyMMddHHmmss (UTC) or an ISO-8601 time is expected.');
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function windowOptions(cmd: Command): Command {
  return cmd
    .option('--offset <n>', 'skip this many tasks', intArg(0))
    .option('--limit <n>', 'page size, 1-1000 (default 10)', intArg(1, 1000))
    .option('--start-time <time>', 'created at or after (yyyyMMddHHmmss UTC or ISO-8601)', timeArg)
    .option('--end-time <time>', 'created at or before (inclusive)', timeArg);
}
