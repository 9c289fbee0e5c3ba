/** Query-string parsing with the DCS rules: paging bounds and yyyyMMddHHmmss UTC times. */
import { Errors } from '../errors.js';
import type { TaskWindow } from '../tasks/service.js';
import type { InstanceFilter } from '../instances/listing.js';
import { SCAN_STATUSES, type ScanQuery, type ScanStatus } from '../records/records.js';
import { isUuid } from '../ids.js';
import type { FlavorFilter } from '../instances/flavors.js';

type Query = Record<string, string | undefined>;

function int(q: Query, name: string, def: number, min: number, max: number): number {
  const v = q[name];
  if (v === undefined) return def;
  if (!/^\d{1,10}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw Errors.badParam(name, `must be an integer from ${min} to ${max}.`);
  }
  return Number(v);
}

/** A boolean parameter: `true` or `false` (absent: false); any other value is 400, not taken as false. */
export function flag(q: Query, name: string): boolean {
  const v = q[name];
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  throw Errors.badParam(name, 'must be true or false.');
}

/**
 * No list holds this many rows: a larger offset (any non-negative integer is one, api.md) asks
 * for a page past the end, and gets that page, empty, without a number the store cannot bind.
 */
const OFFSET_PAST_EVERY_LIST = 2_000_000_000;

function offsetOf(q: Query): number {
  const v = q.offset;
  if (v === undefined) return 0;
  if (!/^\d{1,1000}$/.test(v)) throw Errors.badParam('offset', 'must be an integer of 0 or more.');
  return Math.min(Number(v), OFFSET_PAST_EVERY_LIST); // however many digits: Number() is at most Infinity
}

/** Epoch ms of a yyyyMMddHHmmss UTC time, rejecting impossible dates like 20230231. */
function time(q: Query, name: string): number | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(v);
  const bad = () => Errors.badParam(name, 'must be a UTC time in the format yyyyMMddHHmmss.');
  if (!m) throw bad();
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) throw bad();
  return ms;
}

export function taskWindow(q: Query): TaskWindow {
  return windowOf(q, 'start_time', 'end_time');
}

/** Record lists (records.md) name their window begin_time/end_time. */
export function recordWindow(q: Query): TaskWindow {
  return windowOf(q, 'begin_time', 'end_time');
}

function windowOf(q: Query, fromName: string, toName: string): TaskWindow {
  const offset = offsetOf(q);
  const limit = int(q, 'limit', 10, 1, 1000);
  const from = time(q, fromName);
  const endSecond = time(q, toName);
  if (from !== undefined && endSecond !== undefined && endSecond < from) throw Errors.endBeforeStart();
  // end_time covers its whole second.
  return { offset, limit, from, to: endSecond === undefined ? undefined : endSecond + 999 };
}

/** ListInstancesRequest's query (automation.md §3.1): filters and one page. */
export function instanceQuery(q: Query): { filter: InstanceFilter; offset: number; limit: number } {
  const f: InstanceFilter = {};
  if (q.instance_id !== undefined) {
    if (!isUuid(q.instance_id)) throw Errors.badInstanceId();
    f.instanceId = q.instance_id;
  }
  if (q.name !== undefined) f.name = q.name;
  f.nameEqual = flag(q, 'name_equal');
  f.includeFailure = flag(q, 'include_failure');
  flag(q, 'include_delete'); // accepted; deleted instances are not kept (automation.md §3.1)
  if (q.status !== undefined) f.status = q.status;
  if (q.ip !== undefined) f.ip = q.ip;
  if (q.capacity !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(q.capacity)) throw Errors.badParam('capacity', 'must be a number of GB.');
    f.capacity = Number(q.capacity);
  }
  if (q.tags !== undefined) {
    f.tags = q.tags.split(',').map((pair) => {
      const [k, v, ...rest] = pair.split('=');
      if (!k || rest.length) throw Errors.badParam('tags', 'must be k1=v1,k2=v2 (a key alone matches any value).');
      return [k, v ?? null] as [string, string | null];
    });
  }
  return { filter: f, offset: offsetOf(q), limit: int(q, 'limit', 10, 1, 1000) };
}

/** ListFlavors' query: its filters, and an `instance_id` that must be one (every instance may change to every flavor). */
export function flavorQuery(q: Query): FlavorFilter {
  if (q.instance_id !== undefined && !isUuid(q.instance_id)) throw Errors.badInstanceId();
  const { spec_code, cache_mode, capacity, engine, engine_version, cpu_type } = q;
  return { spec_code, cache_mode, capacity, engine, engine_version, cpu_type };
}

/** Key-scan lists (records.md §3–5): one page and an optional status. */
export function scanQuery(q: Query): ScanQuery {
  const offset = offsetOf(q);
  const limit = int(q, 'limit', 10, 1, 1000);
  const status = q.status as ScanStatus | undefined;
  if (status !== undefined && !SCAN_STATUSES.includes(status)) throw Errors.badParam('status', `must be one of ${SCAN_STATUSES.join(', ')}.`);
  return { offset, limit, status };
}
