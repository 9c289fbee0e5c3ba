/**
 * The `dcs-tasks` client commands, run as the real binary against the real service and real
 * redis-server processes: output for people, --json for scripts, exit codes, progress, a task
 * that really fails.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import type { DcsTasksClient } from '../../src/client/index.js';
import { CLI, startService, type Service } from '../helpers/service.js';
import { finishedJob, newestTask, typedClient } from '../helpers/dcs-client.js';
import { API_ERROR_LINE, cli, cliEnv, json, transcript } from '../helpers/cli.js';

let svc: Service;
let env: Record<string, string>;
let api: DcsTasksClient;
let id: string;
const PASSWORD = 'Cli#Pass12345';

before(async () => {
  svc = await startService();
  env = cliEnv(svc, svc.admin);
  api = typedClient(svc, svc.admin);
});

after(async () => {
  await svc?.stop();
});

test('instances create --wait (password from DCS_INSTANCE_PASSWORD), list, show: tables and --json', async () => {
  const created = await cli(['instances', 'create', '--name', 'cli-target', '--capacity', '0.125', '--wait'], { ...env, DCS_INSTANCE_PASSWORD: PASSWORD });
  assert.equal(created.code, 0, created.stderr);
  const m = /^created instance ([0-9a-f-]{36}) \(cli-target\)$/m.exec(created.stdout);
  assert.ok(m, created.stdout);
  id = m[1]!;
  assert.equal((await api.getInstance(id)).status, 'RUNNING', '--wait returned once RUNNING');

  const list = await cli(['instances', 'list'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ID\s+NAME\s+STATUS\s+ADDRESS\s+CAPACITY/);
  assert.match(list.stdout, new RegExp(`${id}\\s+cli-target\\s+RUNNING\\s+127\\.0\\.0\\.1:\\d+\\s+0\\.125 GB`));
  assert.deepEqual(json(await cli(['instances', 'list', '--json'], env)), await api.listInstances());
  assert.match(list.stdout, /^1-1 of 1 instances$/m);
  assert.match((await cli(['instances', 'list', '--offset', '1'], env)).stdout, /^0 of 1 instances \(offset 1 is past the end\)$/m);

  const show = await cli(['instances', 'show', id], env);
  assert.equal(show.code, 0);
  assert.match(show.stdout, /^status:\s+RUNNING$/m);
  assert.match(show.stdout, /^password:\s+set$/m);
  assert.match(show.stdout, /node-0\s+\d+\s+master/);
  assert.equal(json(await cli(['instances', 'show', id, '--json'], env)).instance_id, id);
});

test('instances flush --wait: result table, progress lines on stderr, the task SUCCESS', async () => {
  const r = await cli(['instances', 'flush', id, '--wait', '--interval', '100'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^INSTANCE\\s+RESULT\\n${id}\\s+success$`, 'm'));
  assert.match(r.stdout, /^task [0-9a-f]{32} SUCCESS \(flushInstance\)$/m);
  assert.match(r.stderr, /^100%\s+SUCCESS\s+step 2\/2 Check that Redis answers after the flush$/m);
});

test('instances restart --wait, and restart --soft --wait --json (results and finished jobs, one JSON document)', async () => {
  const hard = await cli(['instances', 'restart', id, '--wait', '--interval', '100'], env);
  assert.equal(hard.code, 0, hard.stderr);
  assert.match(hard.stdout, /SUCCESS \(restartInstance\)/);
  const soft = await cli(['instances', 'restart', id, '--soft', '--wait', '--json', '--interval', '100'], env);
  assert.equal(soft.code, 0, soft.stderr);
  const out = json(soft);
  assert.deepEqual(out.results, [{ instance: id, result: 'success' }]);
  assert.equal(out.jobs.length, 1);
  assert.equal(out.jobs[0].job_type, 'softRestartInstance');
  assert.equal(out.jobs[0].status, 'SUCCESS');
});

test('tasks list, show, progress: tables and --json agree with the API', async () => {
  const list = await cli(['tasks', 'list', id, '--limit', '2'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ID\s+NAME\s+STATUS\s+CREATED\s+USER$/m);
  assert.match(list.stdout, /softRestartInstance\s+SUCCESS/);
  assert.match(list.stdout, new RegExp(`^1-2 of 3 tasks; next page: dcs-tasks tasks list ${id} --limit 2 --offset 2$`, 'm'));
  const last = await cli(['tasks', 'list', id, '--limit', '2', '--offset', '2'], env);
  assert.match(last.stdout, /^3-3 of 3 tasks$/m, 'no next page after the last one');
  const listed = json(await cli(['tasks', 'list', id, '--json', '--offset', '1', '--start-time', '2000-01-01T00:00:00Z'], env));
  assert.deepEqual(listed, await api.listTasks(id, { offset: 1, start_time: '20000101000000' }));

  const flush = (await api.listTasks(id)).tasks.find((t) => t.name === 'flushInstance')!;
  const show = await cli(['tasks', 'show', flush.id], env);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^name:\s+flushInstance$/m);
  assert.match(show.stdout, new RegExp(`^instance:\\s+${id} \\(cli-target\\)$`, 'm'));
  assert.match(show.stdout, /^1\s+Flush all databases\s+FINISH/m);
  const shown = json(await cli(['tasks', 'show', flush.id, '--json'], env));
  assert.equal(shown.task.id, flush.id);
  assert.equal(shown.job.status, 'SUCCESS');
  assert.equal(shown.progress.progress, 100);

  const progress = await cli(['tasks', 'progress', id, flush.id], env);
  assert.equal(progress.code, 0);
  assert.match(progress.stdout, /^100%$/m);
  assert.match(progress.stdout, /^2\s+Check that Redis answers after the flush\s+FINISH/m);
  assert.deepEqual(json(await cli(['tasks', 'progress', id, flush.id, '--json'], env)), await api.getTaskProgress(id, flush.id));
});

test('tasks wait on a task that really fails (EXTEND below the memory in use): exit 4, reason shown', async () => {
  // 2 MiB of data, then the smallest capacity the API accepts (1 MiB): less than in use.
  const redis = new Redis({ port: (await api.getInstance(id)).port, password: PASSWORD });
  await redis.set('cli-filler', 'x'.repeat(2 * 1024 * 1024));
  redis.disconnect();
  const { job_id } = await api.resizeInstance(id, { new_capacity: 1 / 1024 });
  const r = await cli(['tasks', 'wait', job_id, '--interval', '100'], env);
  assert.equal(r.code, 4, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^task ${job_id} FAILED \\(EXTEND\\): The instance uses \\d+ bytes, more than the new capacity`, 'm'));
  // What the failed task left: where the instance runs and how much data it holds.
  const port = (await api.getInstance(id)).port;
  assert.match(r.stdout, new RegExp(`The instance is running at 127\\.0\\.0\\.1:${port} and holds [1-9]\\d* keys?\\.`));
  assert.match(r.stderr, /FAIL\s+step 1\/2 Set maxmemory on every node/);
  const asJson = await cli(['tasks', 'wait', job_id, '--json', '--instance', id], env);
  assert.equal(asJson.code, 4);
  assert.equal(json(asJson).status, 'FAIL');
  assert.equal((await api.getInstance(id)).capacity_minor, '0.125', 'capacity unchanged');
});

test('tasks wait on a hung task: --timeout gives exit 5; deleting it meanwhile is the API error line, exit 1', async () => {
  const pid = Number(fs.readFileSync(path.join(svc.dataDir, 'instances', id, 'node-0', 'redis.pid'), 'utf8'));
  process.kill(pid, 'SIGSTOP'); // the flush step hangs on a Redis that does not answer
  try {
    await api.flushInstances([id]);
    const task = await newestTask(api, id, 'flushInstance');
    const r = await cli(['tasks', 'wait', task.id, '--timeout', '2', '--interval', '200'], env);
    assert.equal(r.code, 5, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /still (INIT|RUNNING) after the wait timed out/);
    const del = await cli(['tasks', 'delete', id, task.id], env);
    assert.equal(del.code, 1);
    assert.match(del.stderr, API_ERROR_LINE('DCS.4017'));
    assert.match(del.stderr, /^DCS\.4017: This DCS instance job task is still running\. \(request id [0-9a-f]{32}\)\n$/);
    assert.equal(del.stdout, '');
    process.kill(pid, 'SIGCONT');
    await finishedJob(api, task.id, id);
  } finally {
    try { process.kill(pid, 'SIGCONT'); } catch { /* restarted meanwhile */ }
  }
});

test('on a terminal, wait draws a progress bar', async (t) => {
  if (spawnSync('script', ['--version']).status !== 0) return t.skip('no script(1) to provide a terminal');
  const task = (await api.listTasks(id)).tasks.find((x) => x.status === 'SUCCESS')!;
  const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} tasks wait ${task.id} --instance ${id}`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\r\x1b\[K\[#{30}\] 100%  SUCCESS/);
});

test('centre list and centre delete --message; the second delete is DCS.4001 with exit 1', async () => {
  const list = await cli(['centre', 'list', '--limit', '1000'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ID\s+NAME\s+STATUS\s+INSTANCE\s+CREATED\s+ERROR$/m);
  assert.match(list.stdout, /EXTEND\s+FAILED\s+cli-target\s+\S+ \S+\s+DCS\.4113/);
  const all = json(await cli(['centre', 'list', '--json', '--limit', '1000'], env));
  assert.deepEqual(all, await api.listCentreTasks({ limit: 1000 }));
  const victim = all.tasks.find((t) => t.name === 'EXTEND')!;
  const del = await cli(['centre', 'delete', victim.id, '--message', 'failed resize, cleaned up'], env);
  assert.equal(del.code, 0, del.stderr);
  assert.equal(del.stdout, `deleted task ${victim.id}\n`);
  const again = await cli(['centre', 'delete', victim.id], env);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^DCS\.4001: The task does not exist\. \(request id [0-9a-f]{32}\)$/m);
  const flush = all.tasks.find((t) => t.name === 'flushInstance')!;
  const json1 = await cli(['tasks', 'delete', id, flush.id, '--json'], env);
  assert.deepEqual(json(json1), { message: '' });
});

test('token create --ttl: the token then works alone (DCS_AUTH_TOKEN)', async () => {
  const r = await cli(['token', 'create', '--ttl', '300'], env);
  assert.equal(r.code, 0, r.stderr);
  const token = r.stdout.trim();
  assert.match(token, /^dcs\S+$/);
  assert.match(r.stderr, /expires at \d{4}-/);
  const byToken = await cli(['instances', 'list', '--json'], { ...env, CLOUD_SDK_AK: '', CLOUD_SDK_SK: '', DCS_AUTH_TOKEN: token });
  assert.equal(byToken.code, 0, byToken.stderr);
  assert.equal(json(byToken).instances[0].instance_id, id);
  const t2 = json(await cli(['token', 'create', '--ttl', '60', '--json'], env));
  assert.ok(Date.parse(t2.expires_at) > Date.now());
});

test('instances flush without --wait: the task it started and how to follow it (README), also in --json', async () => {
  const r = await cli(['instances', 'flush', id], env);
  assert.equal(r.code, 0, r.stderr);
  const m = new RegExp(`^started task ([0-9a-f]{32}) \\(flushInstance\\) on instance ${id}; follow it with: dcs-tasks tasks wait ([0-9a-f]{32})$`, 'm').exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(m[1], m[2]);
  const waited = await cli(['tasks', 'wait', m[1]!, '--instance', id, '--interval', '100'], env);
  assert.equal(waited.code, 0, waited.stderr);
  const j = json(await cli(['instances', 'flush', id, '--json'], env));
  assert.deepEqual(j.results, [{ instance: id, result: 'success' }]);
  assert.equal(j.tasks[0].instance, id);
  assert.equal(j.tasks[0].task_name, 'flushInstance');
  assert.match(j.tasks[0].task_id, /^[0-9a-f]{32}$/);
  assert.equal((await cli(['tasks', 'wait', j.tasks[0].task_id, '--instance', id, '--interval', '100'], env)).code, 0);
});

test('instances delete; then show is DCS.3022, exit 1; no run ever printed the secret key', async () => {
  const del = await cli(['instances', 'delete', id], env);
  assert.equal(del.code, 0, del.stderr);
  assert.equal(del.stdout, `deleted instance ${id}\n`);
  const show = await cli(['instances', 'show', id], env);
  assert.equal(show.code, 1);
  assert.match(show.stderr, API_ERROR_LINE('DCS.3022'));
  assert.ok(transcript.length > 20);
  for (const text of transcript) assert.ok(!text.includes(svc.admin.secret_key), 'the secret key was printed');
});
