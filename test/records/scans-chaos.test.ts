/**
 * kill -9 mid-scan, then a restart: a big-key analysis left in flight starts again from cursor 0
 * and ends `success` with the real keys; an expired-key scan that was `running` ends `failed`
 * with "interrupted by service restart" (its count cannot be rebuilt), and one still `waiting`
 * runs. Nothing stays in flight.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { client, waitFor, type Client } from '../helpers/client.js';
import { attachRunningRedis, createRunningInstance } from '../helpers/instance.js';
import { onRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { startService, type Service } from '../helpers/service.js';

let svc: Service;
let admin: Client;
let managed: string;
let port: number;
let attached: TestRedis;
let attachedId: string;
const password = 'Chaos#Scan123';
const P = '{p}';

async function restartAfterKill(): Promise<void> {
  await svc.kill9();
  await svc.restart();
  admin = client(svc.url, svc.admin);
}

const history = async () => (await admin.get(`/v2/${P}/instances/${attachedId}/auto-expire/histories`, { query: { limit: '100' } })).body.records;

before(async () => {
  svc = await startService({ env: { DCS_STEP_DELAY_MS: '1500' } });
  admin = client(svc.url, svc.admin);
  ({ id: managed, port } = await createRunningInstance(admin, 'chaos-scan', password));
  attached = await startRedis(null, ['--enable-debug-command', 'local']);
  attachedId = await attachRunningRedis(admin, 'chaos-expire', attached.url);
});

after(async () => {
  await svc?.stop();
  await attached?.stop();
});

test('kill -9 while a big-key analysis is in flight: after the restart it runs again and lists the real keys', async () => {
  await onRedis(port, password, async (r) => {
    await r.set('chaos:big', 'z'.repeat(10_000));
    await r.sadd('chaos:set', 'a', 'b', 'c');
  });
  const created = await admin.post(`/v2/${P}/instances/${managed}/bigkey-task`, undefined);
  assert.equal(created.status, 200, created.text);
  await restartAfterKill();
  const done = await waitFor(async () => {
    const r = (await admin.get(`/v2/${P}/instances/${managed}/bigkey-task/${created.body.id}`)).body;
    return (r.status === 'success' || r.status === 'failed') && r;
  }, 60_000, 'the analysis after the restart');
  assert.equal(done.status, 'success', JSON.stringify(done));
  assert.deepEqual(done.keys.map((k: any) => [k.name, k.size]), [['chaos:big', 10_000], ['chaos:set', 3]]);
});

test('kill -9 while an expired-key scan runs: it ends failed, "interrupted by service restart"; a waiting one runs after the restart', async () => {
  // A keyspace large enough, walked 10 keys per SCAN, that the scan is still running when killed.
  await onRedis(attached.port, null, (r) => r.call('DEBUG', 'POPULATE', '300000', 'chaos'));
  assert.equal((await admin.put(`/v2/${P}/instances/${attachedId}/scan-expire-keys/autoscan-config`, { scan_keys_count: 10 })).status, 200);
  const created = await admin.post(`/v2/${P}/instances/${attachedId}/scan-expire-keys-task`, undefined);
  assert.equal(created.status, 200, created.text);
  await waitFor(async () => (await history()).find((x: any) => x.id === created.body.id)?.status === 'running', 20_000, 'the scan running');
  await restartAfterKill();
  const failed = await waitFor(async () => {
    const x = (await history()).find((y: any) => y.id === created.body.id);
    return x.status !== 'running' && x.status !== 'waiting' && x;
  }, 30_000, 'the interrupted scan settled');
  assert.equal(failed.status, 'failed', JSON.stringify(failed));
  assert.equal(failed.fail_reason, 'interrupted by service restart');
  assert.match(failed.finished_at, /Z$/);

  await onRedis(attached.port, null, (r) => r.flushall());
  const waiting = await admin.post(`/v2/${P}/instances/${attachedId}/auto-expire/scan`, undefined);
  assert.equal(waiting.status, 200, waiting.text);
  assert.equal((await history()).find((x: any) => x.id === waiting.body.id).status, 'waiting');
  await restartAfterKill();
  const ran = await waitFor(async () => {
    const x = (await history()).find((y: any) => y.id === waiting.body.id);
    return x.status === 'success' && x;
  }, 30_000, 'the waiting scan ran after the restart');
  assert.equal(ran.num, 0);
});

test('an expired-key scan past its configured timeout stops: failed, "timeout"', async () => {
  await onRedis(attached.port, null, (r) => r.call('DEBUG', 'POPULATE', '300000', 'slow'));
  const put = await admin.put(`/v2/${P}/instances/${attachedId}/scan-expire-keys/autoscan-config`, { interval: 0, timeout: 2, scan_keys_count: 10 });
  assert.equal(put.status, 200, put.text);
  const created = await admin.post(`/v2/${P}/instances/${attachedId}/scan-expire-keys-task`, undefined);
  assert.equal(created.status, 200, created.text);
  // However fast the machine walks 300,000 keys, the walk outlasts its 2 s: once it runs, Redis
  // holds every command for 3 s (it walked them in 2.0 s once, and ended success).
  await waitFor(async () => (await history()).find((x: any) => x.id === created.body.id)?.status === 'running', 20_000, 'the scan running');
  await onRedis(attached.port, null, (r) => r.call('CLIENT', 'PAUSE', '3000', 'ALL'));
  const done = await waitFor(async () => {
    const x = (await history()).find((y: any) => y.id === created.body.id);
    return (x.status === 'success' || x.status === 'failed') && x;
  }, 30_000, 'the scan stopped');
  assert.equal(done.status, 'failed', JSON.stringify(done));
  assert.equal(done.fail_reason, 'timeout');
  const ran = Date.parse(done.finished_at) - Date.parse(done.started_at);
  assert.ok(ran >= 2000 && ran < 10_000, `stopped after ${ran} ms`);
  await onRedis(attached.port, null, (r) => r.flushall());
});
