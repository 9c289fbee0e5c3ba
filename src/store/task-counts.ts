/**
 * Exact task counts and deep offsets without scanning the tasks, for both stores.
 *
 * The table task_counts (schema migrations 14 and 17) holds, per project and per instance, how
 * many tasks were created in each day, hour, minute and second (triggers keep it in the same
 * transaction as every insert and delete). A time window [from, to) is cut into whole days,
 * hours, minutes and seconds, read from those buckets, plus at most two partial seconds at its
 * edges, counted from the tasks' index. An offset is found the same way: newest bucket first, the
 * one holding the offset is opened one level down, until one second remains, and only the rows
 * within that second are skipped by the database. So a count reads some tens of rows and a page
 * at offset 999,990 costs about what a page at offset 0 does.
 */

/** Bucket sizes in seconds, largest first; the last must be 1. */
export const SPANS = [86_400, 3_600, 60, 1] as const;

/** The latest time a Date can hold, as the open end of an unbounded window (a multiple of 1000). */
const END_OF_TIME = 8_640_000_000_000_000;

/** Whole buckets of one span starting in [fromS, toS) (epoch seconds). */
export interface BucketRange { span: number; fromS: number; toS: number }

/** What a store answers about one scope (a project, or one instance of it). */
export interface CountSource {
  /** For each range, the sum of its buckets: in one statement, whatever the number of ranges. */
  sumBuckets(ranges: BucketRange[]): Promise<number[]>;
  /**
   * Walking the tasks of the buckets of `span` in [fromS, toS) newest first, the second holding
   * the `offset`-th task and how many tasks of that second come before it; null past the last.
   */
  locateSecond(span: number, fromS: number, toS: number, offset: number): Promise<{ second: number; rest: number } | null>;
  /** Tasks created in [fromMs, toMs), counted from the tasks themselves (used for partial seconds). */
  countExact(fromMs: number, toMs: number): Promise<number>;
}

/** A piece of a window: whole buckets of one span (seconds), or a stretch of milliseconds counted exactly. */
type Segment = { exact: false; span: number; fromS: number; toS: number } | { exact: true; fromMs: number; toMs: number };

/** [fromS, toS) in whole buckets, largest span first, newest segment first. */
function bucketSegments(fromS: number, toS: number, level = 0): Segment[] {
  if (fromS >= toS) return [];
  const span = SPANS[level]!;
  if (span === 1) return [{ exact: false, span, fromS, toS }];
  const first = Math.ceil(fromS / span) * span;
  const last = Math.floor(toS / span) * span;
  if (first >= last) return bucketSegments(fromS, toS, level + 1);
  return [...bucketSegments(last, toS, level + 1), { exact: false, span, fromS: first, toS: last }, ...bucketSegments(fromS, first, level + 1)];
}

/** The window [fromMs, toMs) as segments, newest first. */
function segments(fromMs: number, toMs: number): Segment[] {
  const firstS = Math.ceil(fromMs / 1000);
  const lastS = Math.floor(toMs / 1000);
  if (firstS >= lastS) return fromMs < toMs ? [{ exact: true, fromMs, toMs }] : [];
  const edges = (a: number, b: number): Segment[] => (a < b ? [{ exact: true, fromMs: a, toMs: b }] : []);
  return [...edges(lastS * 1000, toMs), ...bucketSegments(firstS, lastS), ...edges(fromMs, firstS * 1000)];
}

/** The number of tasks in each segment: the bucket sums in one statement, the (at most two) partial seconds beside it. */
async function sizes(src: CountSource, parts: Segment[]): Promise<number[]> {
  const ranges = parts.flatMap((p) => (p.exact ? [] : [{ span: p.span, fromS: p.fromS, toS: p.toS }]));
  const [sums, exact] = await Promise.all([
    ranges.length ? src.sumBuckets(ranges) : Promise.resolve([]),
    Promise.all(parts.map((p) => (p.exact ? src.countExact(p.fromMs, p.toMs) : 0))),
  ]);
  let k = 0;
  return parts.map((p, i) => (p.exact ? exact[i]! : sums[k++]!));
}

/** Half-open window in ms from the API's inclusive bounds (undefined = unbounded). */
export function windowOf(from: number | undefined, to: number | undefined): { fromMs: number; toMs: number } {
  return { fromMs: Math.max(0, from ?? 0), toMs: to === undefined ? END_OF_TIME : Math.min(END_OF_TIME, to + 1) };
}

export interface PageStart {
  /** The exact number of tasks in the window. */
  total: number;
  /**
   * Where the page begins: the tasks created before `beforeMs` (and in the window), newest
   * first, skipping `skip` of them. null when the offset is past the last task.
   */
  start: { beforeMs: number; skip: number } | null;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Offsets below this are left to the database: an index walk of that many rows is cheaper than locating them. */
const DIRECT_BELOW = 256;

/** The exact count of the window and where the page at `offset` (at least DIRECT_BELOW) starts. */
export async function locatePage(src: CountSource, fromMs: number, toMs: number, offset: number): Promise<PageStart> {
  const parts = segments(fromMs, toMs);
  // A window of one run of buckets (a listing without a time window is one run of days): the
  // offset can only be in it, so it is located while the counts are read (one wait, not two).
  const only = parts.length === 1 && !parts[0]!.exact ? parts[0]! : null;
  const [counts, locatedEarly] = await Promise.all([
    sizes(src, parts),
    only ? src.locateSecond(only.span, only.fromS, only.toS, offset) : undefined,
  ]);
  const total = sum(counts);
  if (offset >= total) return { total, start: null };
  let rest = offset;
  for (let k = 0; k < parts.length; k++) {
    if (rest >= counts[k]!) {
      rest -= counts[k]!;
      continue;
    }
    const part = parts[k]!;
    if (part.exact) return { total, start: { beforeMs: part.toMs, skip: rest } };
    const found = locatedEarly !== undefined ? locatedEarly : await src.locateSecond(part.span, part.fromS, part.toS, rest);
    return { total, start: found ? { beforeMs: (found.second + 1) * 1000, skip: found.rest } : null };
  }
  return { total, start: null }; // the counts moved under us: an empty page, never a wrong one
}

/**
 * The statement behind locateSecond, for a walk starting at buckets of `span`: newest bucket
 * first, the one holding the offset is opened one span down, to one second — every level in the
 * same statement (one round trip). Parameters, each once and in this order (`param(n)` writes the
 * n-th): project_id, instance_id ('' = the project), from, to (epoch seconds), offset. Answers
 * `bucket` (the second) and `rest`. The same SQL in both dialects.
 */
export function locateSecondSql(span: number, param: (n: number) => string): string {
  const spans = SPANS.slice(SPANS.indexOf(span as (typeof SPANS)[number]));
  if (spans.length === 0) throw new Error(`no bucket span ${span}`);
  const q = `q AS (SELECT CAST(${param(1)} AS TEXT) AS project_id, CAST(${param(2)} AS TEXT) AS instance_id,
    CAST(${param(3)} AS BIGINT) AS from_s, CAST(${param(4)} AS BIGINT) AS to_s, CAST(${param(5)} AS BIGINT) AS off)`;
  // Scalar subqueries, not joins: to the planner they are constants, so every level is a range
  // of the primary key (project_id, instance_id, span, bucket).
  const levels = spans.map((sp, k) => {
    const range = k === 0
      ? 'c.bucket >= (SELECT from_s FROM q) AND c.bucket < (SELECT to_s FROM q)'
      : `c.bucket >= (SELECT bucket FROM l${k - 1}) AND c.bucket < (SELECT bucket FROM l${k - 1}) + ${spans[k - 1]}`;
    const offset = k === 0 ? '(SELECT off FROM q)' : `(SELECT rest FROM l${k - 1})`;
    return `l${k} AS (SELECT bucket, ${offset} - (cum - n) AS rest FROM (
      SELECT c.bucket, c.n, SUM(c.n) OVER (ORDER BY c.bucket DESC) AS cum FROM task_counts c
      WHERE c.project_id = (SELECT project_id FROM q) AND c.instance_id = (SELECT instance_id FROM q) AND c.span = ${sp} AND ${range}) b
    WHERE cum > ${offset} ORDER BY bucket DESC LIMIT 1)`;
  });
  return `WITH ${q},\n  ${levels.join(',\n  ')}\nSELECT bucket, rest FROM l${spans.length - 1}`;
}

type Row = Record<string, unknown>;
interface TaskFilter { projectId: string; instanceId?: string; from?: number; to?: number }

/** The statements a store lists tasks with (the same names and parameter order in both plans modules). */
export interface TaskListPlans {
  sumTaskBuckets: string;
  locateTaskSecond(span: number): string;
  countTasks(f: TaskFilter): { sql: string; args: unknown[] };
  pageOfTasks(f: TaskFilter, limit: number, offset: number): { sql: string; args: unknown[] };
}

/** One page of a task listing and the exact count of its window, through a store's own query function. */
export async function listTaskPage(
  q: TaskFilter & { offset: number; limit: number },
  rows: (sql: string, args: unknown[]) => Promise<Row[]>,
  plans: TaskListPlans,
): Promise<{ total: number; rows: Row[] }> {
  const scope = [q.projectId, q.instanceId ?? ''];
  const src: CountSource = {
    sumBuckets: async (ranges) => (await rows(plans.sumTaskBuckets, [...scope, JSON.stringify(ranges.map((r) => [r.span, r.fromS, r.toS]))]))
      .map((r) => Number(r.n)),
    locateSecond: async (span, fromS, toS, offset) => {
      const [r] = await rows(plans.locateTaskSecond(span), [...scope, fromS, toS, offset]);
      return r ? { second: Number(r.bucket), rest: Number(r.rest) } : null;
    },
    countExact: async (fromMs, toMs) => {
      const c = plans.countTasks({ ...q, from: fromMs, to: toMs - 1 });
      return Number((await rows(c.sql, c.args))[0]!.n);
    },
  };
  const { fromMs, toMs } = windowOf(q.from, q.to);
  const page = (beforeMs: number, skip: number) => {
    const p = plans.pageOfTasks({ ...q, from: fromMs, to: beforeMs - 1 }, q.limit, skip);
    return rows(p.sql, p.args);
  };
  if (q.offset < DIRECT_BELOW) {
    // The page does not wait for the counts: both statements go at once (on PostgreSQL, one
    // round trip's wait instead of two).
    const [counts, first] = await Promise.all([sizes(src, segments(fromMs, toMs)), page(toMs, q.offset)]);
    const total = sum(counts);
    return { total, rows: q.offset < total ? first : [] };
  }
  const { total, start } = await locatePage(src, fromMs, toMs, q.offset);
  return { total, rows: start ? await page(start.beforeMs, start.skip) : [] };
}
