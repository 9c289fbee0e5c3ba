/**
 * Operations change the real Redis: restart keeps data and gives a new process, password change
 * makes the old password fail, configuration changes show in CONFIG GET and survive a restart,
 * conflicting operations are refused with the DCS state code, and a service restart brings the
 * managed Redis back with everything in place.
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
let port: number;
let password = 'First#Pass123';
const P = '{p}';
/** Every step waits this long before it runs, so a task is observably EXECUTING for a while. */
const STEP_DELAY_MS = 600;

const connect = (pw: string | null = password) =>
  new Redis({ host: '127.0.0.1', port, password: pw ?? undefined, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });

async function canAuth(pw: string): Promise<boolean> {
  const c = connect(pw);
  c.on('error', () => {});
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

async function lastTask(name: string) {
  return waitFor(async () => {
    const t = (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks.find((x: any) => x.name === name);
    return t && (t.status === 'SUCCESS' || t.status === 'FAILED') && t;
  }, 30_000, `${name} finished`);
}

async function configGet(name: string): Promise<string[]> {
  const c = connect();
  await c.connect();
  try {
    return (await c.config('GET', name)) as string[];
  } finally {
    c.disconnect();
  }
}

function redisPid(): number {
  return Number(fs.readFileSync(path.join(svc.dataDir, 'instances', id, 'node-0', 'redis.pid'), 'utf8'));
}

before(async () => {
  svc = await startService({ env: { DCS_STEP_DELAY_MS: String(STEP_DELAY_MS) } });
  admin = client(svc.url, svc.admin);
  const r = await admin.post(`/v2/${P}/instances`, { name: 'ops-target', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password });
  assert.equal(r.status, 200, r.text);
  id = r.body.instances[0].instance_id;
  port = (await waitFor(async () => {
    const x = await admin.get(`/v2/${P}/instances/${id}`);
    return x.body.status === 'RUNNING' && x;
  })).body.port;
});

after(async () => {
  await svc?.stop();
});

test('restart: a new redis-server process, data kept, instance RUNNING again', async () => {
  const c = connect();
  await c.connect();
  await c.set('kept', 'yes');
  c.disconnect();
  const before = redisPid();
  const r = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'restart' });
  assert.equal(r.status, 200, r.text);
  const t = await lastTask('restartInstance');
  assert.equal(t.status, 'SUCCESS');
  assert.notEqual(redisPid(), before);
  const c2 = connect();
  await c2.connect();
  assert.equal(await c2.get('kept'), 'yes');
  c2.disconnect();
  assert.equal((await admin.get(`/v2/${P}/instances/${id}`)).body.status, 'RUNNING');
});

test('soft restart runs as softRestartInstance', async () => {
  await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'soft_restart' });
  assert.equal((await lastTask('softRestartInstance')).status, 'SUCCESS');
});

test('password: complexity and old password are checked; the change really happens', async () => {
  const weak = await admin.put(`/v2/${P}/instances/${id}/password`, { old_password: password, new_password: 'short' });
  assert.equal(weak.status, 400);
  assert.equal(weak.body.error_code, 'DCS.4019');
  const simple = await admin.put(`/v2/${P}/instances/${id}/password`, { old_password: password, new_password: 'alllowercase' });
  assert.equal(simple.body.error_code, 'DCS.4019');
  const wrongOld = await admin.put(`/v2/${P}/instances/${id}/password`, { old_password: 'Wrong#Pass123', new_password: 'Second#Pass456' });
  assert.equal(wrongOld.status, 400);
  assert.equal(wrongOld.body.error_code, 'DCS.4080');
  assert.ok(await canAuth(password), 'refused requests changed nothing');

  const ok = await admin.put(`/v2/${P}/instances/${id}/password`, { old_password: password, new_password: 'Second#Pass456' });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.result, 'success');
  const t = await lastTask('modify');
  assert.equal(t.status, 'SUCCESS');
  assert.doesNotMatch(t.params, /Pass123|Pass456/);
  assert.equal(await canAuth(password), false, 'old password refused');
  password = 'Second#Pass456';
  assert.ok(await canAuth(password));
  assert.doesNotMatch(JSON.stringify((await admin.get(`/v2/${P}/tasks`)).body), /Pass123|Pass456/);
});

test('configs: invalid values refused with DCS.4066; valid ones visible in CONFIG GET', async () => {
  const bad = await admin.put(`/v2/${P}/instances/${id}/configs`, { redis_config: [{ param_id: '1', param_name: 'timeout', param_value: '99999' }] });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error_code, 'DCS.4066');
  const unknown = await admin.put(`/v2/${P}/instances/${id}/configs`, { redis_config: [{ param_name: 'requirepass', param_value: 'x' }] });
  assert.equal(unknown.body.error_code, 'DCS.4066');
  const ok = await admin.put(`/v2/${P}/instances/${id}/configs`, {
    redis_config: [{ param_id: '2', param_name: 'maxmemory-policy', param_value: 'allkeys-lru' }, { param_name: 'timeout', param_value: '300' }],
  });
  assert.equal(ok.status, 204, ok.text);
  const t = await lastTask('modifyConfigs');
  assert.equal(t.status, 'SUCCESS');
  assert.equal(t.details.updated_config_length, 2);
  const c = connect();
  await c.connect();
  assert.deepEqual(await c.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'allkeys-lru']);
  assert.deepEqual(await c.config('GET', 'timeout'), ['timeout', '300']);
  c.disconnect();
});

test('a conflicting operation while a restart runs → 400 DCS.4111, no task created', async () => {
  const count = Number((await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.task_count);
  assert.equal((await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'restart' })).status, 200);
  // The step delay keeps each step EXECUTING for STEP_DELAY_MS: the restart is surely running.
  const running = await waitFor(async () => {
    const t = (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks[0];
    return t?.name === 'restartInstance' && t.status === 'EXECUTING' && t;
  }, 20_000, 'restart EXECUTING');
  const r = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' });
  const r2 = await admin.put(`/v2/${P}/instances/${id}/configs`, { redis_config: [{ param_name: 'timeout', param_value: '1' }] });
  const stillRunning = (await admin.get(`/v2/${P}/jobs/${running.id}`)).body.status;
  assert.equal(stillRunning, 'RUNNING', 'the restart outlived both refused requests');
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error_code, 'DCS.4111');
  assert.equal(r2.status, 400, r2.text);
  assert.equal(r2.body.error_code, 'DCS.4111');
  assert.equal((await lastTask('restartInstance')).status, 'SUCCESS');
  const tasks = (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body;
  assert.equal(Number(tasks.task_count), count + 1, 'only the restart was created');
  assert.deepEqual(await configGet('timeout'), ['timeout', '300'], 'the refused configuration change changed nothing');
});

test('a port change sent again while it runs → 400 DCS.4026, the busy code a client retries; once done the same port is no change', async () => {
  const target = await freePort();
  const other = await freePort();
  assert.equal((await admin.put(`/v2/${P}/instances/${id}`, { port: target })).status, 204);
  const running = await waitFor(async () => {
    const t = (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks[0];
    return t?.name === 'UpdatePort' && t.status === 'EXECUTING' && t;
  }, 20_000, 'UpdatePort EXECUTING');
  const again = await admin.put(`/v2/${P}/instances/${id}`, { port: target });
  const elsewhere = await admin.put(`/v2/${P}/instances/${id}`, { port: other });
  assert.equal((await admin.get(`/v2/${P}/jobs/${running.id}`)).body.status, 'RUNNING', 'the port change outlived both refused requests');
  for (const r of [again, elsewhere]) {
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error_code, 'DCS.4026', r.text);
  }
  assert.equal((await lastTask('UpdatePort')).status, 'SUCCESS');
  port = target;
  assert.equal(await canAuth(password), true, 'Redis answers on the new port');
  const count = Number((await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.task_count);
  assert.equal((await admin.put(`/v2/${P}/instances/${id}`, { port: target })).status, 204);
  assert.equal(Number((await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.task_count), count, 'the same port again starts no task');
});

test('service restart: the managed Redis comes back with data, password and configuration', async () => {
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks.every((t: any) => ['SUCCESS', 'FAILED'].includes(t.status)));
  const c = connect();
  await c.connect();
  await c.set('survives', 'restart');
  c.disconnect();
  assert.equal(await svc.stop(), 0, 'SIGTERM exits 0');
  assert.equal(await canAuth(password), false, 'SIGTERM stopped the managed Redis');
  await svc.restart();
  admin = client(svc.url, svc.admin);
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${id}`)).body.status === 'RUNNING');
  const c2 = connect();
  await c2.connect();
  assert.equal(await c2.get('survives'), 'restart');
  assert.deepEqual(await c2.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'allkeys-lru']);
  c2.disconnect();
});

test('a flush while a client writes: SUCCESS, every key of before the flush gone, what is written since kept', async () => {
  const c = connect();
  await c.connect();
  try {
    for (let k = 0; k < 50; k++) await c.set(`before:${k}`, '1');
    let writing = true;
    let written = 0;
    // Writes all through the task, the step delay included: some land after the FLUSHALL.
    const writer = (async () => { while (writing) await c.set(`during:${written++}`, '1'); })();
    const r = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' });
    assert.equal(r.status, 200, r.text);
    const t = await lastTask('flushInstance');
    writing = false;
    await writer;
    assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
    assert.equal((await c.keys('before:*')).length, 0, 'the keys of before the flush are gone');
    assert.ok((await c.dbsize()) > 0, 'keys written after the flush are kept');
  } finally {
    c.disconnect();
  }
});

test('flush through the API empties the real Redis', async () => {
  const c = connect();
  await c.connect();
  await c.set('x', '1');
  await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' });
  assert.equal((await lastTask('flushInstance')).status, 'SUCCESS');
  assert.equal(await c.dbsize(), 0);
  c.disconnect();
});
