/**
 * Benchmark: authenticated, durable DELETE of pre-seeded finished tasks on the real service,
 * against a bare node:http server that answers the same 200 body — both under autocannon in
 * the same run with the same signed requests (32 connections), so the ratio compares servers,
 * not machines. Last line: `delete_vs_bare_ratio=<x.xx> p99_ms=<y.y>`.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { signRequest } from '../src/auth/signature.js';
import { makeCredential, startService, tempDir, testCredentials, writeTestCredentials, type TestCredential } from '../test/helpers/service.js';
import { seedFinishedTasks } from '../test/helpers/seed.js';
import { dropDatabase, testDatabaseUrl } from '../test/helpers/db.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);

interface Result { rps: number; p50: number; p99: number; non2xx: number; errors: number }

/** Pre-signs one DELETE per task (signing is the client's work, identical for both servers). */
function signedDeletes(cred: TestCredential, instanceId: string, taskIds: string[], host: string) {
  return taskIds.map((id) => {
    const url = `/v2/${cred.project_id}/instances/${instanceId}/tasks/${id}`;
    const headers = { 'content-type': 'application/json', 'x-project-id': cred.project_id, host };
    const auth = signRequest({ accessKey: cred.access_key, secretKey: cred.secret_key, method: 'DELETE', url, headers });
    return { method: 'DELETE' as const, path: url, headers: { ...headers, ...auth } };
  });
}

type Req = { method: 'DELETE'; path: string; headers: Record<string, string> };

async function load(url: string, requests: Req[], connections: number): Promise<Result> {
  let i = 0;
  const r = await autocannon({
    url,
    connections: Math.max(1, Math.round(connections)),
    amount: requests.length,
    requests: [{ setupRequest: (req: any) => ({ ...req, ...requests[i++ % requests.length] }) }],
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

function bareServer(): Promise<{ url: string; close: () => void }> {
  const body = JSON.stringify({ message: '' });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as { port: number }).port;
    resolve({ url: `http://127.0.0.1:${port}`, close: () => server.close() });
  }));
}

function row(name: string, r: Result): string {
  return `${name.padEnd(28)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms   non-2xx ${r.non2xx}  errors ${r.errors}`;
}

/** One configuration under load: `nodes` services on one database, the deletes split between them. */
async function measure(kind: 'sqlite' | 'postgres', nodes: number): Promise<Result> {
  const dataDirs = Array.from({ length: nodes }, () => tempDir('dcs-bench-'));
  const creds = testCredentials();
  const project = creds[0]!.project_id;
  for (const d of dataDirs) writeTestCredentials(d, creds);
  const database = testDatabaseUrl(dataDirs[0]!, kind);
  const seeded = await seedFinishedTasks(database, project, REQUESTS);
  const services = await Promise.all(dataDirs.map((dataDir) => startService({ dataDir, database, args: ['--log-level', 'warn'] })));
  try {
    const share = (ids: string[], k: number) => ids.filter((_, j) => j % nodes === k);
    const signed = (ids: string[], k: number) => signedDeletes(creds[0]!, seeded.instanceId, share(ids, k), new URL(services[k]!.url).host);
    const warm = seeded.taskIds.slice(0, 500);
    await Promise.all(services.map((svc, k) => load(svc.url, signed(warm, k), CONNECTIONS / nodes))); // JIT warm-up
    const rest = seeded.taskIds.slice(500);
    const results = await Promise.all(services.map((svc, k) => load(svc.url, signed(rest, k), CONNECTIONS / nodes)));
    // Throughput adds up across nodes; latency is the worst node's.
    return results.reduce((a, r) => ({ rps: a.rps + r.rps, p50: Math.max(a.p50, r.p50), p99: Math.max(a.p99, r.p99), non2xx: a.non2xx + r.non2xx, errors: a.errors + r.errors }));
  } finally {
    await Promise.all(services.map((svc) => svc.stop()));
    await dropDatabase(database);
  }
}

async function main() {
  const bare = await bareServer();
  try {
    // The same signed requests (same size, same headers) as the service gets.
    const ids = Array.from({ length: REQUESTS - 500 }, () => randomBytes(16).toString('hex'));
    const baseline = signedDeletes(makeCredential(randomBytes(16).toString('hex'), 'admin', 'b'), randomBytes(16).toString('hex'), ids, new URL(bare.url).host);
    await load(bare.url, baseline.slice(0, 500), CONNECTIONS);
    const bareResult = await load(bare.url, baseline, CONNECTIONS);
    const sqlite = await measure('sqlite', 1);
    const postgres = process.env.BENCH_SKIP_POSTGRES ? null : await measure('postgres', 1);
    const threeNodes = process.env.BENCH_SKIP_POSTGRES ? null : await measure('postgres', 3);
    console.log(`connections=${CONNECTIONS} requests=${REQUESTS - 500} per row; sqlite: WAL, synchronous=FULL, group commit; postgres: one schema, pool of 10 per node`);
    console.log(row('bare node:http', bareResult));
    console.log(row('dcs-tasks DELETE, sqlite', sqlite));
    if (postgres) console.log(row('dcs-tasks DELETE, postgres', postgres));
    if (threeNodes) console.log(row('dcs-tasks DELETE, 3 nodes pg', threeNodes));
    for (const [name, r] of [['sqlite', sqlite], ['postgres', postgres], ['three_node', threeNodes]] as const) {
      if (r && r.non2xx > 0) console.log(`warning: ${name}: ${r.non2xx} deletes did not answer 200`);
    }
    if (postgres) console.log(`postgres_vs_bare_ratio=${(postgres.rps / bareResult.rps).toFixed(2)} p99_ms=${postgres.p99.toFixed(1)}`);
    if (threeNodes) console.log(`three_node_vs_bare_ratio=${(threeNodes.rps / bareResult.rps).toFixed(2)} p99_ms=${threeNodes.p99.toFixed(1)}`);
    console.log(`delete_vs_bare_ratio=${(sqlite.rps / bareResult.rps).toFixed(2)} p99_ms=${sqlite.p99.toFixed(1)}`);
  } finally {
    bare.close();
  }
}

await main();
