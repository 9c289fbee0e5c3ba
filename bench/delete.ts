/**
 * Benchmark: authenticated, durable DELETE of pre-seeded finished tasks on the real service,
 * against baselines answering the same 200 body, every server in a process of its own and the
 * load generator (autocannon, 32 connections, the same pre-signed requests) in this one:
 *
 *   canned TCP answer  — the load generator's own ceiling (the server parses nothing)
 *   bare node:http     — the baseline of the ratios
 *   bare Fastify       — the same route shape: the framework's own share
 *   dcs-tasks on SQLite, on PostgreSQL, and three nodes on one PostgreSQL schema
 *
 * Rows run in rounds, baselines and services alternating, so drift on a shared machine hits
 * both; a row's numbers merge its rounds. Last line: `delete_vs_bare_ratio=<x.xx> p99_ms=<y.y>`
 * (SQLite), after `postgres_vs_bare_ratio=` and `three_node_vs_bare_ratio=`.
 *
 * Env: BENCH_CONNECTIONS (32), BENCH_REQUESTS per row and round (20000), BENCH_ROUNDS (2),
 * BENCH_SKIP_POSTGRES=1.
 */
import { randomBytes } from 'node:crypto';
import { startService, tempDir, testCredentials, writeTestCredentials, makeCredential, type Service } from '../test/helpers/service.js';
import { dropDatabase, testDatabaseUrl } from '../test/helpers/db.js';
import { seedFinishedTasks, type SeededTasks } from './lib/seed.js';
import { machine, startBareServer, type BareKind } from './lib/processes.js';
import { load, merge, percentile, signed, throughput, type LoadResult, type SignedRequest } from './lib/load.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP = 500;
const SKIP_POSTGRES = Boolean(process.env.BENCH_SKIP_POSTGRES);

/** One row: one or more servers (nodes) loaded at once, the connections split between them. */
interface Target {
  name: string;
  urls: string[];
  /** The requests of measurement `n` (0 = warm-up), one list per node. */
  requests(n: number): SignedRequest[][];
  stop(): Promise<void>;
}

const deletePath = (project: string, instance: string, task: string) => `/v2/${project}/instances/${instance}/tasks/${task}`;

async function bareTarget(name: string, kind: BareKind): Promise<Target> {
  const server = await startBareServer(kind);
  // Requests of the same shape and size as the service's (signed, 32-hex ids), sent again each time.
  const cred = makeCredential(randomBytes(16).toString('hex'), 'admin', 'bench');
  const instance = randomBytes(16).toString('hex');
  const requests = Array.from({ length: REQUESTS }, () => signed(server.url, cred, 'DELETE', deletePath(cred.project_id, instance, randomBytes(16).toString('hex'))));
  return { name, urls: [server.url], requests: (n) => [n === 0 ? requests.slice(0, WARMUP) : requests], stop: server.stop };
}

async function serviceTarget(name: string, kind: 'sqlite' | 'postgres', nodes: number): Promise<Target> {
  const dataDirs = Array.from({ length: nodes }, () => tempDir('dcs-bench-'));
  const creds = testCredentials();
  for (const d of dataDirs) writeTestCredentials(d, creds);
  const database = testDatabaseUrl(dataDirs[0]!, kind);
  const seeded: SeededTasks = await seedFinishedTasks(database, creds[0]!.project_id, WARMUP + ROUNDS * REQUESTS);
  const services: Service[] = [];
  for (const dataDir of dataDirs) services.push(await startService({ dataDir, database, args: ['--log-level', 'warn'] }));
  return {
    name, urls: services.map((s) => s.url),
    requests: (n) => services.map((svc, k) => {
      const first = n === 0 ? 0 : WARMUP + (n - 1) * REQUESTS;
      const count = n === 0 ? WARMUP : REQUESTS;
      const out: SignedRequest[] = [];
      for (let i = first + k; i < first + count; i += nodes) {
        out.push(signed(svc.url, creds[0]!, 'DELETE', deletePath(creds[0]!.project_id, seeded.instanceId, seeded.taskId(i))));
      }
      return out;
    }),
    stop: async () => {
      await Promise.all(services.map((s) => s.stop()));
      await dropDatabase(database);
    },
  };
}

/** Measurement `n` of a target: its nodes loaded at once, the connections shared out. */
async function measure(t: Target, n: number): Promise<LoadResult> {
  const perNode = t.requests(n);
  const results = await Promise.all(t.urls.map((url, k) => load(url, perNode[k]!, CONNECTIONS / t.urls.length)));
  return merge(results, 'parallel');
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
function line(name: string, r: LoadResult, bare?: LoadResult): string {
  const ratio = bare ? fmt(throughput(r) / throughput(bare), 2) : '';
  return `${name.padEnd(30)} ${fmt(throughput(r), 0).padStart(7)} req/s  p50 ${fmt(percentile(r.latencies, 50)).padStart(6)} ms  p99 ${fmt(percentile(r.latencies, 99)).padStart(6)} ms  ` +
    `${ratio.padStart(5)}  non-200 ${r.completed - r.ok}  errors ${r.errors}`;
}

async function main() {
  const targets: Target[] = [];
  try {
    const started = async (t: Promise<Target>) => { targets.push(await t); return targets.at(-1)!; };
    const canned = await started(bareTarget('canned TCP (generator ceiling)', 'canned'));
    const http = await started(bareTarget('bare node:http', 'http'));
    const fastify = await started(bareTarget('bare Fastify, same route', 'fastify'));
    const sqlite = await started(serviceTarget('dcs-tasks, SQLite', 'sqlite', 1));
    const postgres = SKIP_POSTGRES ? null : await started(serviceTarget('dcs-tasks, PostgreSQL', 'postgres', 1));
    const threeNodes = SKIP_POSTGRES ? null : await started(serviceTarget('dcs-tasks, 3 nodes, PostgreSQL', 'postgres', 3));

    // Each service follows a bare node:http row, in every round.
    const order = [canned, http, sqlite, fastify, ...(postgres ? [http, postgres] : []), ...(threeNodes ? [http, threeNodes] : [])];
    for (const t of targets) await measure(t, 0); // JIT warm-up, not counted
    const results = new Map<Target, LoadResult[]>(targets.map((t) => [t, []]));
    console.log(machine());
    console.log(`connections=${CONNECTIONS} requests=${REQUESTS} per row and round, rounds=${ROUNDS}; every server in its own process; ` +
      'sqlite: WAL, synchronous=FULL, group commit on a writer thread; postgres: pool of 10 per node, deletes in flight in one statement; log level warn');
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of order) {
        const r = await measure(t, round);
        results.get(t)!.push(r);
        console.log(`round ${round}  ${line(t.name, r)}`);
      }
    }
    const total = (t: Target) => merge(results.get(t)!);
    const bare = total(http);
    console.log(`\n${'row (all rounds)'.padEnd(30)}   req/s  ${'p50'.padStart(9)}     ${'p99'.padStart(9)}     ratio to bare node:http`);
    for (const t of targets) console.log(line(t.name, total(t), bare));
    for (const t of [sqlite, postgres, threeNodes]) {
      if (t && total(t).ok < total(t).completed) console.log(`warning: ${t.name}: ${total(t).completed - total(t).ok} deletes did not answer 200`);
    }
    const ratioLine = (label: string, t: Target) => `${label}=${fmt(throughput(total(t)) / throughput(bare), 2)} p99_ms=${fmt(percentile(total(t).latencies, 99))}`;
    if (postgres) console.log(ratioLine('postgres_vs_bare_ratio', postgres));
    if (threeNodes) console.log(ratioLine('three_node_vs_bare_ratio', threeNodes));
    console.log(ratioLine('delete_vs_bare_ratio', sqlite));
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
  }
}

await main();
