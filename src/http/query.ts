/** Query-string parsing with the DCS rules: paging bounds and yyyyMMddHHmmss UTC times. */
import { Errors } from '../errors.js';
import type { TaskWindow } from '../tasks/service.js';

type Query = Record<string, string | undefined>;

function int(q: Query, name: string, def: number, min: number, max: number): number {
  const v = q[name];
  if (v === undefined) return def;
  if (!/^\d{1,10}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw Errors.badParam(name, `must be an integer from ${min} to ${max}.`);
  }
  return Number(v);
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
  const offset = int(q, 'offset', 0, 0, 2_000_000_000);
  const limit = int(q, 'limit', 10, 1, 1000);
  const from = time(q, fromName);
  const endSecond = time(q, toName);
  if (from !== undefined && endSecond !== undefined && endSecond < from) throw Errors.endBeforeStart();
  // end_time covers its whole second.
  return { offset, limit, from, to: endSecond === undefined ? undefined : endSecond + 999 };
}
