/**
 * A switchover resumed after a kill -9 of the service. The restart starts the redis-servers
 * again, which ends the write pause of the step that brought the standby in sync; the master
 * then takes writes the standby may not have. The resumed switchover must bring the standby in
 * sync again before it stops anything: a write the master acknowledged is never lost.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';

let svc: Service;
let admin: Client;
let id: string;
const P = '{p}';
const PASSWORD = 'Swap#Resume123';
/**
 * Each step waits this long, EXECUTING, before its work: the window in which the test kills the
 * service during step 2, and, after the restart, writes before the resumed step 2 stops a node.
 */
const STEP_DELAY_MS = 3000;

const show = async () => (await admin.get(`/v2/${P}/instances/${id}`)).body;
const progressOf = async (taskId: string) => (await admin.get(`/v2/${P}/instances/${id}/tasks/${taskId}/progress`)).body;

async function redisAt(port: number): Promise<Redis> {
  const r = new Redis({ host: '127.0.0.1', port, password: PASSWORD, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  r.on('error', () => {});
  await r.connect();
  return r;
}

before(async () => {
  svc = await startService({ env: { DCS_STEP_DELAY_MS: String(STEP_DELAY_MS) } });
  admin = client(svc.url, svc.admin);
  const r = await admin.post(`/v2/${P}/instances`, {
    name: 'swap-resume', engine: 'Redis', engine_version: '7.0', capacity: 0.125, spec_code: 'redis.ha.xu1.tiny.r2.128', password: PASSWORD,
  });
  assert.equal(r.status, 200, r.text);
  id = r.body.instances[0].instance_id;
  await waitFor(async () => (await show()).status === 'RUNNING', 30_000, 'instance RUNNING');
  assert.equal((await show()).nodes.length, 2, 'a master and a standby');
});

after(async () => {
  await svc?.stop();
});

/**
 * Starts a switchover, kills the service while its step 2 (stop both nodes) waits to begin its
 * work, restarts it, and calls `meanwhile` with the master and the standby as soon as both
 * answer again — inside the resumed step 2's delay, before it stops anything. Returns the
 * task once it has ended.
 */
async function swapKilledInStep2(meanwhile: (master: Redis, standby: Redis) => Promise<void>): Promise<any> {
  const { nodes } = await show();
  const masterPort = nodes.find((n: any) => n.role === 'master').port;
  const standbyPort = nodes.find((n: any) => n.role === 'replica').port;
  const r = await admin.post(`/v2/${P}/instances/${id}/swap`, undefined);
  assert.equal(r.status, 200, r.text);
  const taskId = r.body.job_id;
  const seen = await waitFor(async () => {
    const p = await progressOf(taskId);
    return p.step_details?.[1]?.step_status === 'EXECUTING' && p;
  }, 30_000, 'step 2 EXECUTING');
  assert.equal(seen.step_details[0].step_status, 'FINISH');
  await svc.kill9();
  const killedAt = Date.now();
  await svc.restart();
  admin = client(svc.url, svc.admin);
  // The restart started both redis-servers again: the master answers writes.
  const master = await waitFor(async () => {
    const c = await redisAt(masterPort).catch(() => null);
    if (c && (await c.set('probe', '1').catch(() => null)) === 'OK') return c;
    c?.disconnect();
    return null;
  }, 20_000, 'the master takes writes again');
  const standby = await waitFor(async () => redisAt(standbyPort).catch(() => null), 20_000, 'the standby answers');
  try {
    await meanwhile(master, standby);
  } finally {
    master.disconnect();
    standby.disconnect();
  }
  const done = await waitFor(async () => {
    const t = (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks.find((x: any) => x.id === taskId);
    return t && ['SUCCESS', 'FAILED'].includes(t.status) && t;
  }, 90_000, 'the switchover ended after the restart');
  const resumed = (await progressOf(taskId)).step_details;
  assert.ok(Date.parse(resumed[1].begin_time) > killedAt, `step 2 was not run again after the restart: ${JSON.stringify(resumed[1])}`);
  await waitFor(async () => (await show()).status === 'RUNNING', 30_000, 'instance RUNNING');
  return { ...done, fail_reason: (await admin.get(`/v2/${P}/jobs/${taskId}`)).body.fail_reason };
}

/** Every key in `keys` on the Redis at the instance's address. */
async function allOnInstance(keys: string[]): Promise<void> {
  const r = await redisAt((await show()).port);
  try {
    const values = await r.mget(keys);
    const lost = keys.filter((_, k) => values[k] !== 'acknowledged');
    assert.deepEqual(lost, [], `${lost.length} of ${keys.length} acknowledged writes lost`);
  } finally {
    r.disconnect();
  }
}

test('writes acknowledged after the restart are on the new master: the resumed switchover waits for the standby', { timeout: 180_000 }, async () => {
  const keys: string[] = [];
  const t = await swapKilledInStep2(async (master) => {
    for (let k = 0; k < 500; k++) {
      const key = `after-restart:${k}`;
      assert.equal(await master.set(key, 'acknowledged'), 'OK');
      keys.push(key);
    }
  });
  assert.equal(t.status, 'SUCCESS', t.fail_reason);
  await allOnInstance(keys);
});

test('a standby that cannot catch up after the restart: the switchover fails and nothing acknowledged is lost', { timeout: 180_000 }, async () => {
  const keys: string[] = [];
  const t = await swapKilledInStep2(async (master, standby) => {
    // The standby loses its link and cannot get it back (a wrong masterauth): whatever the
    // master acknowledges from now on, the standby does not have.
    await standby.config('SET', 'masterauth', 'Not#The-Password1');
    await standby.call('CLIENT', 'KILL', 'TYPE', 'master');
    await waitFor(async () => /master_link_status:down/.test(await standby.info('replication')), 10_000, 'the standby\'s link down');
    for (let k = 0; k < 100; k++) {
      const key = `behind:${k}`;
      assert.equal(await master.set(key, 'acknowledged'), 'OK');
      keys.push(key);
    }
  });
  assert.equal(t.status, 'FAILED', 'a switchover to a standby that does not have the writes must not succeed');
  assert.match(t.fail_reason, /standby is not connected|did not catch up/);
  await allOnInstance(keys);
});
