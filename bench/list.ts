/**
 * List benchmark: one instance with a million finished tasks, seeded straight into the database
 * before the service starts (SQLite, and PostgreSQL unless BENCH_SKIP_POSTGRES=1), then signed
 * GETs sent one at a time to the service in its own process, over one keep-alive connection.
 * A sample is timed from sending the request (signed beforehand with the official signer: the
 * client's signing is not the service's latency) to its last byte. Prints p50/p99/max per query,
 * the service's resident memory and its start-to-/health time, and last `list_p99_ms=<worst>`:
 * the worst p99 of any list query (instance list or task centre) on any store. 200 samples a
 * query: with 30 (until 2026-12-06) the nearest-rank p99 was the single worst sample.
 *
 * Every list answer is checked: 200, the exact `task_count`, a full page. Also measured: /health
 * answered while eight deep lists run at once (does a slow read stall other requests?).
 *
 * Env: BENCH_LIST_TASKS (1000000), BENCH_LIST_SAMPLES per query (200), BENCH_LIST_WARMUP passes over
 * every query before measuring (300), BENCH_SKIP_POSTGRES=1.
 */
import http from 'node:http';
import { prepareDataDir, startService, type Service, type TestCredential } from '../test/helpers/service.js';
import { call } from '../test/helpers/client.js';
import { dropDatabase } from '../test/helpers/db.js';
import { seedFinishedTasks, type SeededTasks } from './lib/seed.js';
import { machine, memoryOf } from './lib/processes.js';
import { percentile, signed } from './lib/load.js';

const TASKS = Number(process.env.BENCH_LIST_TASKS ?? 1_000_000);
const SAMPLES = Number(process.env.BENCH_LIST_SAMPLES ?? 200);
const SKIP_POSTGRES = Boolean(process.env.BENCH_SKIP_POSTGRES);
const CONCURRENT_DEEP_LISTS = 8;
const WARMUP_PASSES = Number(process.env.BENCH_LIST_WARMUP ?? 300);

interface Query {
  name: string;
  path: string;
  query: Record<string, string>;
  /** task_count the contract requires; absent for a non-list. */
  count?: number;
}

/** yyyyMMddHHmmss, UTC (the API's time format). */
const apiTime = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);

function queries(project: string, s: SeededTasks): Query[] {
  // A window over the middle half of the tasks, on whole seconds as the API takes them.
  const from = Math.ceil(s.createdAt(Math.floor(s.count / 4)) / 1000) * 1000;
  const to = Math.floor(s.createdAt(Math.floor((3 * s.count) / 4)) / 1000) * 1000 + 999;
  const inWindow = Math.max(0, Math.min(s.count - 1, to - s.createdAt(0)) - Math.max(0, from - s.createdAt(0)) + 1);
  const window = { start_time: apiTime(from), end_time: apiTime(to) };
  const deep = Math.max(0, s.count - 10);
  const mid = Math.min(100_000, Math.floor(s.count / 2));
  const instanceList = `/v2/${project}/instances/${s.instanceId}/tasks`;
  const centre = `/v2/${project}/tasks`;
  const page = (offset: number) => ({ offset: String(offset), limit: '10' });
  return [
    { name: 'instance list, offset 0, limit 10', path: instanceList, query: page(0), count: s.count },
    { name: `instance list, offset ${mid}`, path: instanceList, query: page(mid), count: s.count },
    { name: `instance list, offset ${deep}`, path: instanceList, query: page(deep), count: s.count },
    { name: 'instance list, time window, offset 0', path: instanceList, query: { ...page(0), ...window }, count: inWindow },
    { name: `instance list, time window, offset ${mid}`, path: instanceList, query: { ...page(Math.min(mid, inWindow - 10)), ...window }, count: inWindow },
    { name: 'task centre, offset 0', path: centre, query: page(0), count: s.count },
    { name: `task centre, offset ${mid}`, path: centre, query: page(mid), count: s.count },
    { name: 'task centre, time window, offset 0', path: centre, query: { ...page(0), ...window }, count: inWindow },
    { name: `task centre, time window, offset ${mid}`, path: centre, query: { ...page(Math.min(mid, inWindow - 10)), ...window }, count: inWindow },
    { name: 'progress of one task', path: `${instanceList}/${s.taskId(Math.floor(s.count / 2))}/progress`, query: {} },
    // Every instance show and list reads the running tasks of the project, whatever its history.
    { name: 'instance show', path: `/v2/${project}/instances/${s.instanceId}`, query: {} },
    { name: 'instance list (ListInstances)', path: `/v2/${project}/instances`, query: {} },
  ];
}

/** One keep-alive connection for the timed GETs: a new TCP connection per sample is not a list's cost. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** Sends a pre-signed request; its status, body and the ms from sending to the last byte. */
function exchange(base: string, path: string, headers: Record<string, string>, via: http.Agent): Promise<{ status: number; text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(`${base}${path}`, { method: 'GET', headers, agent: via }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** One signed GET, checked against what the contract promises; its time in ms. */
async function timedGet(svc: Service, cred: TestCredential, q: Query, via = agent): Promise<number> {
  const s = signed(svc.url, cred, 'GET', q.path, q.query);
  const r = await exchange(svc.url, s.path, s.headers, via);
  if (r.status !== 200) throw new Error(`${q.name}: ${r.status} ${r.text}`);
  if (q.count !== undefined) {
    const body = JSON.parse(r.text) as { task_count: string; tasks: unknown[] };
    if (body.task_count !== String(q.count)) throw new Error(`${q.name}: task_count ${body.task_count}, expected ${q.count}`);
    if (body.tasks.length !== 10) throw new Error(`${q.name}: ${body.tasks.length} tasks on the page, expected 10`);
  }
  return r.ms;
}

/** From spawning the service to its first 200 on /health, in ms. */
async function startTimed(dataDir: string, database: string): Promise<{ svc: Service; ms: number }> {
  const t0 = performance.now();
  const svc = await startService({ dataDir, database, args: ['--log-level', 'warn'] });
  const deadline = t0 + 60_000;
  while ((await call(svc.url, null, 'GET', '/health')).status !== 200) {
    if (performance.now() > deadline) throw new Error('/health never answered 200');
  }
  return { svc, ms: performance.now() - t0 };
}

/** /health latencies while CONCURRENT_DEEP_LISTS deep instance lists run at once. */
async function healthUnderDeepLists(svc: Service, cred: TestCredential, deepList: Query): Promise<number[]> {
  let busy = true;
  const lists = Promise.all(Array.from({ length: CONCURRENT_DEEP_LISTS }, () => timedGet(svc, cred, deepList, http.globalAgent))).finally(() => (busy = false));
  const times: number[] = [];
  while (busy) {
    const t0 = performance.now();
    const r = await call(svc.url, null, 'GET', '/health');
    if (r.status !== 200) throw new Error(`/health answered ${r.status}`);
    times.push(performance.now() - t0);
  }
  await lists;
  return times;
}

interface StoreResult { kind: string; rows: { q: Query; p50: number; p99: number; max: number }[]; seedS: number; startMs: number; rssMb: number; peakMb: number; health: number[] }

async function measure(kind: 'sqlite' | 'postgres'): Promise<StoreResult> {
  const { dataDir, creds, project, database } = prepareDataDir(kind);
  const cred = creds[0]!;
  try {
    const t0 = performance.now();
    const seeded = await seedFinishedTasks(database, project, TASKS);
    const seedS = (performance.now() - t0) / 1000;
    const { svc, ms: startMs } = await startTimed(dataDir, database);
    try {
      const rows = [];
      // JIT warm-up, not counted: a service that has just started runs a list 2× slower for its
      // first few thousand requests (measured: p50 2.0 ms over the first thousand, 1.1 ms by the fourth).
      for (let k = 0; k < WARMUP_PASSES; k++) for (const q of queries(project, seeded)) await timedGet(svc, cred, q);
      for (const q of queries(project, seeded)) {
        const times: number[] = [];
        for (let k = 0; k < SAMPLES; k++) times.push(await timedGet(svc, cred, q));
        rows.push({ q, p50: percentile(times, 50), p99: percentile(times, 99), max: Math.max(...times) });
        console.error(`${kind}: ${q.name}: p50 ${percentile(times, 50).toFixed(1)} ms`);
      }
      const health = await healthUnderDeepLists(svc, cred, queries(project, seeded)[2]!);
      const { rssMb, peakMb } = memoryOf(svc.proc.pid!);
      return { kind, rows, seedS, startMs, rssMb, peakMb, health };
    } finally {
      await svc.stop();
    }
  } finally {
    await dropDatabase(database);
  }
}

const ms = (x: number) => (x < 10 ? x.toFixed(1) : x.toFixed(0));
const results: StoreResult[] = [await measure('sqlite')];
if (!SKIP_POSTGRES) results.push(await measure('postgres'));

console.log(machine());
console.log(`tasks=${TASKS} of one instance, finished; pre-signed GETs one at a time over one keep-alive connection, ${SAMPLES} per query after ${WARMUP_PASSES} uncounted passes over all queries`);
for (const r of results) {
  console.log(`\n${r.kind}: seeded in ${r.seedS.toFixed(1)} s; start to /health ${ms(r.startMs)} ms; RSS ${r.rssMb.toFixed(0)} MB (peak ${r.peakMb.toFixed(0)} MB)`);
  console.log('| query | p50 | p99 | max |\n| --- | --- | --- | --- |');
  for (const row of r.rows) console.log(`| ${row.q.name} | ${ms(row.p50)} ms | ${ms(row.p99)} ms | ${ms(row.max)} ms |`);
  console.log(`| /health during ${CONCURRENT_DEEP_LISTS} concurrent deep lists (${r.health.length} probes) | ${ms(percentile(r.health, 50))} ms | ${ms(percentile(r.health, 99))} ms | ${ms(Math.max(...r.health))} ms |`);
}
const worst = Math.max(...results.flatMap((r) => r.rows.filter((row) => row.q.count !== undefined).map((row) => row.p99)));
console.log(`list_p99_ms=${worst.toFixed(1)}`);
