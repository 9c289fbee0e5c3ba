/**
 * Chaos: for every operation and every one of its steps, kill -9 the service while that step is
 * in progress (proved: see killDuringStep), restart it on the same data directory, and check
 * that the task was resumed at that step and ends SUCCESS or
 * FAILED with a reason, nothing stays EXECUTING, the instance answers, and its data, password
 * and shape are what the task's final state says.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { freePort } from '../helpers/redis.js';

let svc: Service;
let admin: Client;
let id: string;
let password = 'Chaos#Pass100';
let generation = 100;
const P = '{p}';
/**
 * Each step is EXECUTING this long before its work starts: the window in which the test sees the
 * step running and kills the service (polling every 100 ms, so the kill lands well inside it).
 */
const STEP_DELAY_MS = 1000;

const show = async () => (await admin.get(`/v2/${P}/instances/${id}`)).body;

async function redisAt(port: number, pw = password): Promise<Redis> {
  const r = new Redis({ host: '127.0.0.1', port, password: pw, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  r.on('error', () => {});
  await r.connect();
  return r;
}

async function canAuth(port: number, pw: string) {
  try {
    const r = await redisAt(port, pw);
    const ok = (await r.ping()) === 'PONG';
    r.disconnect();
    return ok;
  } catch {
    return false;
  }
}

interface Case {
  name: string;
  steps: number;
  start(): Promise<void>;
  /** Checks the instance against the task's final state. */
  verify(task: any): Promise<void>;
}

before(async () => {
  svc = await startService({ env: { DCS_STEP_DELAY_MS: String(STEP_DELAY_MS) } });
  admin = client(svc.url, svc.admin);
  const r = await admin.post(`/v2/${P}/instances`, { name: 'chaos-target', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password });
  assert.equal(r.status, 200, r.text);
  id = r.body.instances[0].instance_id;
  await waitFor(async () => (await show()).status === 'RUNNING');
});

after(async () => {
  await svc?.stop();
});

const progressOf = async (taskId: string) => (await admin.get(`/v2/${P}/instances/${id}/tasks/${taskId}/progress`)).body;

/**
 * Starts the operation, kills the service while the named step is EXECUTING, restarts it and
 * waits for the task to end. Proves the kill landed inside that step: before the kill the step
 * was EXECUTING with every earlier step FINISH; after the restart the step began again (its
 * begin_time is after the kill) while the earlier steps kept theirs (they were not run twice).
 */
async function killDuringStep(start: () => Promise<void>, step: number): Promise<any> {
  const before = new Set((await admin.get(`/v2/${P}/instances/${id}/tasks`, { query: { limit: '1000' } })).body.tasks.map((t: any) => t.id));
  await start();
  const task = await waitFor(async () => (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks.find((t: any) => !before.has(t.id)), 10_000, 'new task');
  const seen = await waitFor(async () => {
    const p = await progressOf(task.id);
    return (p.progress === 100 || (p.step_details?.[step] && p.step_details[step].step_status !== 'WAITING')) && p;
  }, 30_000, `step ${step + 1} to begin`);
  assert.equal(seen.step_details[step].step_status, 'EXECUTING', `step ${step + 1} was not running when the kill came: ${JSON.stringify(seen)}`);
  assert.ok(seen.progress < 100, `the task was over before the kill: ${JSON.stringify(seen)}`);
  for (const earlier of seen.step_details.slice(0, step)) assert.equal(earlier.step_status, 'FINISH');
  await svc.kill9();
  const killedAt = Date.now();
  await svc.restart();
  admin = client(svc.url, svc.admin);
  const done = await waitFor(async () => {
    const t = (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks.find((x: any) => x.id === task.id);
    return t && ['SUCCESS', 'FAILED'].includes(t.status) && t;
  }, 90_000, `${task.name} finished after the restart`);
  const resumed = (await progressOf(task.id)).step_details;
  assert.ok(Date.parse(resumed[step].begin_time) > killedAt, `step ${step + 1} was not run again after the restart: ${JSON.stringify(resumed[step])}`);
  for (let i = 0; i < step; i++) {
    assert.equal(resumed[i].begin_time, seen.step_details[i].begin_time, `step ${i + 1}, finished before the kill, ran again`);
  }
  const job = (await admin.get(`/v2/${P}/jobs/${task.id}`)).body;
  if (done.status === 'FAILED') assert.ok(job.fail_reason && job.fail_reason.length > 10, `FAILED without a reason: ${JSON.stringify(job)}`);
  const all = (await admin.get(`/v2/${P}/tasks`, { query: { limit: '1000' } })).body.tasks;
  assert.ok(all.every((t: any) => t.status !== 'EXECUTING' && t.status !== 'CREATED'), 'a task stayed unfinished');
  await waitFor(async () => (await show()).status === 'RUNNING', 30_000, 'instance RUNNING');
  return { ...done, fail_reason: job.fail_reason };
}

/**
 * The instance's AOF is `appendfsync everysec`: a reply may come before the write reaches the
 * file. Waits until Redis's AOF buffer is empty, i.e. every write so far is in the AOF file and
 * survives the redis-server process being stopped or killed.
 */
async function untilInAof(r: Redis): Promise<void> {
  assert.match(await r.info('persistence'), /^aof_enabled:1\r?$/m);
  await waitFor(async () => {
    const info = await r.info('persistence');
    return /^aof_buffer_length:0\r?$/m.test(info) && /^aof_last_write_status:ok\r?$/m.test(info);
  }, 10_000, 'the AOF buffer written to the file');
}

const cases: Case[] = [
  {
    name: 'restartInstance', steps: 2,
    start: async () => { assert.equal((await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'restart' })).status, 200); },
    verify: async (t) => {
      assert.equal(t.status, 'SUCCESS', t.fail_reason);
      const r = await redisAt((await show()).port);
      assert.equal(await r.get('marker'), 'kept');
      r.disconnect();
    },
  },
  {
    name: 'flushInstance', steps: 2,
    start: async () => { assert.equal((await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' })).status, 200); },
    verify: async (t) => {
      assert.equal(t.status, 'SUCCESS', t.fail_reason);
      const r = await redisAt((await show()).port);
      assert.equal(await r.get('marker'), null);
      await r.set('marker', 'kept');
      await untilInAof(r);
      r.disconnect();
    },
  },
  {
    name: 'modify', steps: 2,
    start: async () => {
      const next = `Chaos#Pass${++generation}`;
      const r = await admin.put(`/v2/${P}/instances/${id}/password`, { old_password: password, new_password: next });
      assert.equal(r.status, 200, r.text);
      pendingPassword = next;
    },
    verify: async (t) => {
      const port = (await show()).port;
      const newInForce = t.status === 'SUCCESS' || /new password is in force/.test(t.fail_reason ?? '');
      const expected = newInForce ? pendingPassword : password;
      const other = newInForce ? password : pendingPassword;
      assert.ok(await canAuth(port, expected), `the password the task reports (${t.status}) does not work`);
      assert.equal(await canAuth(port, other), false, 'the other password works too');
      password = expected;
    },
  },
  {
    name: 'modifyConfigs', steps: 2,
    start: async () => {
      const r = await admin.put(`/v2/${P}/instances/${id}/configs`, { redis_config: [{ param_name: 'slowlog-max-len', param_value: String(generation) }] });
      assert.equal(r.status, 204, r.text);
    },
    verify: async (t) => {
      assert.equal(t.status, 'SUCCESS', t.fail_reason);
      const r = await redisAt((await show()).port);
      assert.deepEqual(await r.config('GET', 'slowlog-max-len'), ['slowlog-max-len', String(generation)]);
      r.disconnect();
    },
  },
  {
    name: 'EXTEND', steps: 2,
    start: async () => {
      capacity = capacity === 0.25 ? 0.5 : 0.25;
      assert.equal((await admin.post(`/v2/${P}/instances/${id}/resize`, { new_capacity: capacity })).status, 200);
    },
    verify: async (t) => {
      assert.equal(t.status, 'SUCCESS', t.fail_reason);
      const inst = await show();
      assert.equal(inst.capacity_minor, String(capacity));
      const r = await redisAt(inst.port);
      assert.deepEqual(await r.config('GET', 'maxmemory'), ['maxmemory', String(capacity * 1024 ** 3)]);
      r.disconnect();
    },
  },
  {
    name: 'AddReplica', steps: 2,
    start: async () => {
      replicasBefore = (await show()).replica_count;
      assert.equal((await admin.post(`/v2/${P}/instances/${id}/resize`, { change_type: 'createReplication' })).status, 200);
    },
    verify: async (t) => {
      const inst = await show();
      if (t.status === 'FAILED') {
        assert.equal(inst.replica_count, replicasBefore);
        return;
      }
      assert.equal(inst.replica_count, replicasBefore + 1);
      const replica = inst.nodes.filter((n: any) => n.role === 'replica').at(-1);
      const r = await redisAt(replica.port);
      await waitFor(async () => /master_link_status:up/.test(await r.info('replication')));
      assert.equal(await r.get('marker'), 'kept');
      r.disconnect();
    },
  },
  {
    name: 'masterStandbySwapJob', steps: 4,
    start: async () => { assert.equal((await admin.post(`/v2/${P}/instances/${id}/swap`, undefined)).status, 200); },
    verify: async (t) => {
      const inst = await show();
      const r = await redisAt(inst.port);
      assert.match(await r.info('replication'), /role:master/);
      assert.equal(await r.get('marker'), 'kept', `data lost (${t.status}: ${t.fail_reason})`);
      r.disconnect();
      if (t.status === 'SUCCESS') {
        const replica = inst.nodes.find((n: any) => n.role === 'replica');
        const rr = await redisAt(replica.port);
        await waitFor(async () => /master_link_status:up/.test(await rr.info('replication')));
        rr.disconnect();
      }
    },
  },
  {
    name: 'UpdatePort', steps: 3,
    start: async () => {
      targetPort = await freePort();
      assert.equal((await admin.put(`/v2/${P}/instances/${id}`, { port: targetPort })).status, 204);
    },
    verify: async (t) => {
      assert.equal(t.status, 'SUCCESS', t.fail_reason);
      const inst = await show();
      assert.equal(inst.port, targetPort);
      const r = await redisAt(targetPort);
      assert.equal(await r.get('marker'), 'kept');
      r.disconnect();
    },
  },
  {
    name: 'DelReplica', steps: 2,
    start: async () => {
      replicasBefore = (await show()).replica_count;
      if (replicasBefore === 0) {
        await admin.post(`/v2/${P}/instances/${id}/resize`, { change_type: 'createReplication' });
        await waitFor(async () => (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks[0].status !== 'EXECUTING' && (await show()).replica_count === 2, 60_000);
        await waitFor(async () => ['SUCCESS', 'FAILED'].includes((await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks[0].status), 60_000);
        replicasBefore = 1;
      }
      replicaNodes = (await show()).nodes.filter((n: any) => n.role === 'replica');
      assert.equal((await admin.post(`/v2/${P}/instances/${id}/resize`, { change_type: 'deleteReplication' })).status, 200);
    },
    verify: async (t) => {
      assert.equal(t.status, 'SUCCESS', t.fail_reason);
      const inst = await show();
      assert.equal(inst.replica_count, replicasBefore - 1);
      // The removed replica's redis-server is gone and so are its files, whatever the kill interrupted.
      const gone = replicaNodes.filter((n: any) => !inst.nodes.some((m: any) => m.name === n.name));
      assert.equal(gone.length, 1, JSON.stringify({ before: replicaNodes, after: inst.nodes }));
      for (const n of gone) {
        assert.equal(await canAuth(n.port, password), false, `the removed ${n.name} still answers on ${n.port}`);
        assert.equal(fs.existsSync(path.join(svc.dataDir, 'instances', id, n.name)), false, `the files of ${n.name} are left`);
      }
    },
  },
];

let pendingPassword = '';
let capacity = 0.25;
let targetPort = 0;
let replicasBefore = 0;
let replicaNodes: any[] = [];

test('set-up: a marker key', async () => {
  const r = await redisAt((await show()).port);
  await r.set('marker', 'kept');
  await untilInAof(r);
  r.disconnect();
});

for (const c of cases) {
  for (let step = 0; step < c.steps; step++) {
    test(`${c.name}: kill -9 during step ${step + 1} of ${c.steps}`, { timeout: 180_000 }, async () => {
      const t = await killDuringStep(c.start, step);
      await c.verify(t);
    });
  }
}
