/**
 * Failures around the engine, against the real service: a Redis that dies during a task makes
 * it fail with a clear reason and the supervisor brings the Redis back; finished tasks older
 * than the retention are removed by the service and audited.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { query } from '../helpers/db.js';
import { Redis } from 'ioredis';
import { client, waitFor } from '../helpers/client.js';
import { prepareDataDir, startService, type Service } from '../helpers/service.js';
import { seedFinishedTasks } from '../helpers/seed.js';
import { PURGE_CHUNK } from '../../src/engine/maintenance.js';

const services: Service[] = [];
after(async () => {
  for (const s of services) await s.stop();
});

test('a Redis killed during a task: the task fails with a reason, the supervisor restarts Redis', async () => {
  const svc = await startService();
  services.push(svc);
  const admin = client(svc.url, svc.admin);
  const password = 'Dies#Pass123';
  const r = await admin.post('/v2/{p}/instances', { name: 'dying-redis', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password });
  const id = r.body.instances[0].instance_id;
  const port = (await waitFor(async () => {
    const x = await admin.get(`/v2/{p}/instances/${id}`);
    return x.body.status === 'RUNNING' && x;
  })).body.port;
  const pidFile = path.join(svc.dataDir, 'instances', id, 'node-0', 'redis.pid');
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  process.kill(pid, 'SIGSTOP'); // the flush step hangs on a Redis that does not answer
  await admin.put('/v2/{p}/instances/status', { instances: [id], action: 'flush' });
  await waitFor(async () => (await admin.get(`/v2/{p}/instances/${id}/tasks`)).body.tasks[0]?.status === 'EXECUTING');
  process.kill(pid, 'SIGKILL');
  const task = await waitFor(async () => {
    const t = (await admin.get(`/v2/{p}/instances/${id}/tasks`)).body.tasks[0];
    return t.status === 'FAILED' && t;
  }, 20_000, 'task FAILED');
  const job = (await admin.get(`/v2/{p}/jobs/${task.id}`)).body;
  assert.equal(job.status, 'FAIL');
  assert.match(job.fail_reason, /Flush all databases failed: .*(closed|ECONNREFUSED|ECONNRESET)/i);
  const centre = (await admin.get('/v2/{p}/tasks')).body.tasks.find((t: any) => t.id === task.id);
  assert.equal(centre.error_code, 'DCS.5000');
  const progress = (await admin.get(`/v2/{p}/instances/${id}/tasks/${task.id}/progress`)).body;
  assert.equal(progress.step_details[0].step_status, 'FAILED');
  assert.equal(progress.step_details[0].error_code, 'DCS.5000');
  // The supervisor brings the Redis back, with a new process, and the instance is RUNNING.
  await waitFor(async () => (await admin.get(`/v2/{p}/instances/${id}`)).body.status === 'RUNNING', 20_000);
  assert.notEqual(Number(fs.readFileSync(pidFile, 'utf8')), pid);
  const c = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 1 });
  assert.equal(await c.ping(), 'PONG');
  c.disconnect();
  const m = await client(svc.url, null).get('/metrics');
  assert.match(m.text, /dcs_managed_redis_up 1/);
});

test('--task-retention-days removes old finished tasks with an audit record, keeps recent ones', async () => {
  const { dataDir, project, database } = prepareDataDir();
  const old = await seedFinishedTasks(database, project, 2 * PURGE_CHUNK + 100, 1, 3 * 86_400_000); // three transactions of the purge
  const recent = await seedFinishedTasks(database, project, 3, 1, 0);
  const svc = await startService({ dataDir, database, args: ['--task-retention-days', '2'] });
  services.push(svc);
  const admin = client(svc.url, svc.admin);
  await waitFor(async () => (await admin.get('/v2/{p}/tasks')).body.task_count === '3', 10_000, 'old tasks removed');
  const ids = (await admin.get('/v2/{p}/tasks')).body.tasks.map((t: any) => t.id).sort();
  assert.deepEqual(ids, [...recent.taskIds].sort());
  const audit = await query(database, 'SELECT task_id, actor_name, message FROM task_audit');
  assert.deepEqual(audit.map((a) => a.task_id).sort(), [...old.taskIds].sort());
  assert.ok(audit.every((a) => a.actor_name === 'retention' && /older than 2 days/.test(a.message)));
});
