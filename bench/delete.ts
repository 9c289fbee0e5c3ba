/**
 * Benchmark: authenticated, durable DELETE of pre-seeded finished tasks on the real service,
 * against a bare node:http server that answers the same 200 body — both under autocannon in
 * the same run with the same signed requests (32 connections), so the ratio compares servers,
 * not machines. Last line: `delete_vs_bare_ratio=<x.xx> p99_ms=<y.y>`.
 */
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { signRequest } from '../src/auth/signature.js';
import { makeCredential, startService, tempDir, type TestCredential } from '../test/helpers/service.js';
import { seedFinishedTasks } from '../test/helpers/seed.js';
import { testDatabaseUrl } from '../test/helpers/db.js';

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

async function load(url: string, requests: ReturnType<typeof signedDeletes>): Promise<Result> {
  let i = 0;
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
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

async function main() {
  const dataDir = tempDir('dcs-bench-');
  const project = randomBytes(16).toString('hex');
  const creds = [makeCredential(project, 'admin', 'bench'), makeCredential(project, 'readonly', 'r'), makeCredential(randomBytes(16).toString('hex'), 'admin', 'o')];
  fs.writeFileSync(path.join(dataDir, 'test-credentials.json'), JSON.stringify(creds));
  const database = testDatabaseUrl(dataDir, 'sqlite');
  const seeded = await seedFinishedTasks(database, project, REQUESTS);
  const svc = await startService({ dataDir, database, args: ['--log-level', 'warn'] });
  const bare = await bareServer();
  try {
    const host = new URL(svc.url).host;
    const warm = signedDeletes(creds[0], seeded.instanceId, seeded.taskIds.slice(0, 500), host);
    await load(svc.url, warm); // JIT warm-up on the first 500 tasks
    const rest = signedDeletes(creds[0], seeded.instanceId, seeded.taskIds.slice(500), host);
    const bareResult = await load(bare.url, rest);
    const service = await load(svc.url, rest);
    console.log(`connections=${CONNECTIONS} requests=${rest.length} store=sqlite (WAL, synchronous=FULL, group commit)`);
    console.log(row('bare node:http', bareResult));
    console.log(row('dcs-tasks DELETE (sqlite)', service));
    if (service.non2xx > 0) console.log(`warning: ${service.non2xx} deletes did not answer 200`);
    console.log(`delete_vs_bare_ratio=${(service.rps / bareResult.rps).toFixed(2)} p99_ms=${service.p99.toFixed(1)}`);
  } finally {
    bare.close();
    await svc.stop();
  }
}

await main();
