/**
 * Automatic expired-key scans come at their slots with the scheduler's default 30 s tick (the
 * other autoscan tests shorten it): a configuration set through the API wakes the scheduler, and
 * each look is timed for the next `first_scan_at + k × interval`, so no occurrence is lost or late.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { client, waitFor, type Client } from '../helpers/client.js';
import { attachRunningRedis } from '../helpers/instance.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startService, type Service } from '../helpers/service.js';

let svc: Service;
let admin: Client;
let redis: TestRedis;
let instanceId: string;
const P = '{p}';

before(async () => {
  svc = await startService(); // DCS_SCHEDULER_TICK_MS unset: the 30 s default
  admin = client(svc.url, svc.admin);
  redis = await startRedis();
  instanceId = await attachRunningRedis(admin, 'autoscan-timing', redis.url);
});

after(async () => {
  await svc?.stop();
  await redis?.stop();
});

test('an expired-key scan every 2 s runs at each slot, not at the next 30 s tick', async () => {
  const first = Date.now() + 1500;
  const url = `/v2/${P}/instances/${instanceId}/scan-expire-keys/autoscan-config`;
  const put = await admin.put(url, { enable_auto_scan: true, first_scan_at: new Date(first).toISOString(), interval: 2, timeout: 4, scan_keys_count: 10 });
  assert.equal(put.status, 200, put.text);
  const autos = await waitFor(async () => {
    const a = (await admin.get(`/v2/${P}/instances/${instanceId}/auto-expire/histories`, { query: { limit: '100' } })).body.records
      .filter((x: any) => x.scan_type === 'auto');
    return a.length >= 4 && a;
  }, 20_000, 'four automatic scans within 20 s');
  assert.equal((await admin.put(url, { enable_auto_scan: false })).status, 200);
  const created = autos.map((x: any) => Date.parse(x.created_at)).sort((a: number, b: number) => a - b);
  const slots = created.map((t: number) => Math.floor((t - first) / 2000));
  assert.deepEqual(slots, [...new Set(slots)], `one scan per slot: ${JSON.stringify(autos)}`);
  for (const t of created) {
    assert.ok(t >= first, 'none before first_scan_at');
    assert.ok((t - first) % 2000 < 1500, `created ${t - first} ms after first_scan_at: within 1.5 s of its slot`);
  }
});
