import { seedFinishedTasks } from '/work/main/dist/bench/lib/seed.js';
import { startService, tempDir, testCredentials, writeTestCredentials } from '/work/main/dist/test/helpers/service.js';
import { call } from '/work/main/dist/test/helpers/client.js';
import { execSync } from 'node:child_process';
const dataDir = tempDir('dcs-q2-');
const creds = testCredentials(); writeTestCredentials(dataDir, creds);
const cred = creds[0]; const P = cred.project_id;
const database = `sqlite:${dataDir}/dcs.db`;
const s = await seedFinishedTasks(database, P, Number(process.env.N ?? 1_000_000));
const svc = await startService({ dataDir, database, args: ['--log-level', 'warn'] });
async function t(name, fn) {
  for (let i = 0; i < 5; i++) await fn();
  const xs = [];
  for (let i = 0; i < 60; i++) { const t0 = performance.now(); await fn(); xs.push(performance.now() - t0); }
  xs.sort((a, b) => a - b);
  console.log(name.padEnd(30), 'p50', xs[30].toFixed(2), 'p90', xs[54].toFixed(2), 'max', xs[59].toFixed(2));
}
const pid = svc.proc.pid;
console.log('pid', pid);
const cpu = () => pid ? execSync(`ps -o cputime=,etime= -p ${pid}`).toString().trim() : '?';
console.log('cpu at start', cpu());
await new Promise((r) => setTimeout(r, 5000));
console.log('cpu after 5 s idle', cpu());
await t('unauth 401', () => call(svc.url, null, 'GET', `/v2/${P}/tasks`));
await t('progress', () => call(svc.url, cred, 'GET', `/v2/${P}/instances/${s.instanceId}/tasks/${s.taskId(5)}/progress`));
await t('instance list 0', () => call(svc.url, cred, 'GET', `/v2/${P}/instances/${s.instanceId}/tasks`, { query: { offset: '0', limit: '10' } }));
console.log('cpu end', cpu());
await svc.stop();
