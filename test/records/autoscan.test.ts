/**
 * Autoscan configurations and scheduled scans: every field checked with its code, schedules run
 * on a short clock (DCS_SCHEDULER_TICK_MS), and both the configuration and the schedule survive a
 * restart; a daily slot runs once however often the scheduler looks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { client, waitFor, type Client } from '../helpers/client.js';
import { attachRunningRedis, createRunningInstance } from '../helpers/instance.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startService, type Service } from '../helpers/service.js';
import { slotId } from '../../src/records/scheduler.js';

let svc: Service;
let admin: Client;
let reader: Client;
let managed: string;
let attached: TestRedis;
let attachedId: string;
const P = '{p}';

before(async () => {
  svc = await startService({ env: { DCS_SCHEDULER_TICK_MS: '200' } });
  admin = client(svc.url, svc.admin);
  reader = client(svc.url, svc.reader);
  ({ id: managed } = await createRunningInstance(admin, 'autoscan-target', 'Autoscan#Pass1'));
  attached = await startRedis();
  attachedId = await attachRunningRedis(admin, 'autoscan-attached', attached.url);
});

after(async () => {
  await svc?.stop();
  await attached?.stop();
});

/** A clean stop and start (the port changes: new clients). */
async function restart(): Promise<void> {
  await svc.stop();
  await svc.restart();
  admin = client(svc.url, svc.admin);
  reader = client(svc.url, svc.reader);
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

test('big-key/hot-key autoscan config: defaults, every refusal, sorted times, RO 403', async () => {
  for (const kind of ['bigkey', 'hotkey']) {
    const url = `/v2/${P}/instances/${managed}/${kind}/autoscan`;
    assert.deepEqual((await reader.get(url)).body, { instance_id: managed, enable_auto_scan: false, schedule_at: [], updated_at: null });
    for (const body of [
      { enable_auto_scan: true, schedule_at: ['24:00'] }, { enable_auto_scan: true, schedule_at: [] },
      { enable_auto_scan: true, schedule_at: ['01:00', '01:00'] }, { enable_auto_scan: true }, { enable_auto_scan: 'yes', schedule_at: ['01:00'] },
    ]) {
      const r = await admin.put(url, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error_code, 'DCS.4800', r.text);
      assert.match(r.body.error_msg, /schedule_at|enable_auto_scan/);
    }
    assert.equal((await reader.put(url, { enable_auto_scan: false, schedule_at: [] })).status, 403);
    const ok = await admin.put(url, { enable_auto_scan: false, schedule_at: ['23:10', '01:05'] });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body.schedule_at, ['01:05', '23:10']);
    assert.match(ok.body.updated_at, /Z$/);
    assert.deepEqual((await reader.get(url)).body, ok.body);
  }
});

test('expired-key autoscan config: DCS.4819-4822, merging, all four fields needed to enable', async () => {
  const url = `/v2/${P}/instances/${attachedId}/scan-expire-keys/autoscan-config`;
  assert.deepEqual((await reader.get(url)).body, {
    instance_id: attachedId, enable_auto_scan: false, first_scan_at: null, interval: null, timeout: null, scan_keys_count: null, updated_at: null,
  });
  const cases: [Record<string, unknown>, string][] = [
    [{ first_scan_at: '2001-01-01T00:00:00Z' }, 'DCS.4819'], [{ first_scan_at: 'tomorrow' }, 'DCS.4819'],
    [{ interval: -1 }, 'DCS.4820'], [{ interval: 10, timeout: 19 }, 'DCS.4821'], [{ interval: 0, timeout: 1 }, 'DCS.4821'],
    [{ scan_keys_count: 9 }, 'DCS.4822'], [{ scan_keys_count: 1001 }, 'DCS.4822'], [{ interval: '10' }, 'DCS.4800'],
    // A 32-bit integer of seconds at most (68 years): 1e300 would be echoed back as 1e+300.
    [{ interval: 2 ** 31 }, 'DCS.4820'], [{ interval: 1e300 }, 'DCS.4820'], [{ interval: 10, timeout: 1e308 }, 'DCS.4821'],
    // No interval set yet: a timeout still has to be one a scan can run in.
    [{ timeout: -5 }, 'DCS.4821'], [{ timeout: 0 }, 'DCS.4821'], [{ timeout: 1 }, 'DCS.4821'],
    // Dates Date.parse would roll over into the next month or day.
    [{ first_scan_at: '2099-02-30T00:00:00Z' }, 'DCS.4819'], [{ first_scan_at: '2099-04-31T00:00:00Z' }, 'DCS.4819'],
    [{ first_scan_at: '2099-01-01T24:00:00Z' }, 'DCS.4819'], [{ first_scan_at: '2099-01-01T10:60:00Z' }, 'DCS.4819'],
  ];
  for (const [body, code] of cases) assert.equal((await admin.put(url, body)).body.error_code, code, JSON.stringify(body));
  const partial = await admin.put(url, { scan_keys_count: 10 });
  assert.equal(partial.status, 200, partial.text);
  const missing = await admin.put(url, { enable_auto_scan: true, interval: 60 });
  assert.equal(missing.body.error_code, 'DCS.4800');
  assert.match(missing.body.error_msg, /first_scan_at/);
  assert.equal((await reader.get(url)).body.interval, null, 'a refused PUT changes nothing');
  // RFC 3339's lower-case "t"/"z", as the Terraform provider's documented example sends it.
  const lower = await admin.put(url, { first_scan_at: '2099-07-07t15:00:05.000z' });
  assert.equal(lower.status, 200, lower.text);
  assert.equal(lower.body.first_scan_at, '2099-07-07T15:00:05.000Z');
});

test('scheduled expired-key scans run at first_scan_at + k × interval, and again after a restart', async () => {
  const url = `/v2/${P}/instances/${attachedId}/scan-expire-keys/autoscan-config`;
  const first = new Date(Date.now() + 1500).toISOString();
  const put = await admin.put(url, { enable_auto_scan: true, first_scan_at: first, interval: 2, timeout: 4, scan_keys_count: 10 });
  assert.equal(put.status, 200, put.text);
  const autos = async () => (await admin.get(`/v2/${P}/instances/${attachedId}/auto-expire/histories`, { query: { limit: '100' } })).body.records
    .filter((x: any) => x.scan_type === 'auto');
  const two = await waitFor(async () => {
    const a = await autos();
    return a.filter((x: any) => x.status === 'success').length >= 2 && a;
  }, 20_000, 'two automatic scans');
  const created = two.map((x: any) => Date.parse(x.created_at)).sort();
  assert.ok(created[0]! >= Date.parse(first), 'none before first_scan_at');
  assert.ok(created[1]! - created[0]! >= 1500, `one per 2 s slot: ${JSON.stringify(two)}`);

  await restart();
  assert.equal((await admin.get(url)).body.enable_auto_scan, true, 'the configuration survives the restart');
  const before = (await autos()).length;
  await waitFor(async () => (await autos()).length >= before + 2, 20_000, 'automatic scans after the restart');
  assert.equal((await admin.put(url, { enable_auto_scan: false })).status, 200);
});

test('a daily big-key slot runs once, however often the scheduler looks and across a restart', async () => {
  const url = `/v2/${P}/instances/${managed}/bigkey/autoscan`;
  // The next minute that starts at least 5 s from now: a slot counts only once the schedule is set.
  const put = await admin.put(url, { enable_auto_scan: true, schedule_at: [hhmm(Date.now() + 65_000)] });
  assert.equal(put.status, 200, put.text);
  const autos = async () => (await admin.get(`/v2/${P}/instances/${managed}/bigkey-tasks`, { query: { limit: '100' } })).body.records
    .filter((x: any) => x.scan_type === 'auto');
  const [run] = await waitFor(async () => {
    const a = await autos();
    return a.length > 0 && a[0].status === 'success' && a;
  }, 90_000, 'the automatic analysis');
  const shown = await admin.get(`/v2/${P}/instances/${managed}/bigkey-task/${run.id}`);
  assert.equal(shown.body.scan_type, 'auto');
  await restart();
  // Many ticks (every 200 ms) after the restart: the slot's record is still the only one.
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${managed}`)).body.status === 'RUNNING', 20_000, 'RUNNING again');
  const ticks = Date.now() + 2000;
  await waitFor(async () => Date.now() > ticks, 5000, 'ten scheduler ticks');
  assert.deepEqual((await autos()).map((x: any) => x.id), [run.id]);
});

test('a schedule_at time already past today waits for tomorrow: nothing when it is set, nor at a start-up (D11)', async () => {
  const bigkey = `/v2/${P}/instances/${attachedId}/bigkey/autoscan`;
  const expire = `/v2/${P}/instances/${attachedId}/scan-expire-keys/autoscan-config`;
  assert.equal((await admin.put(bigkey, { enable_auto_scan: true, schedule_at: [hhmm(Date.now() - 120_000)] })).status, 200);
  // A witness: automatic expired-key scans every second show the scheduler has looked since.
  const witness = await admin.put(expire, { enable_auto_scan: true, first_scan_at: new Date(Date.now() + 500).toISOString(), interval: 1, timeout: 2, scan_keys_count: 10 });
  assert.equal(witness.status, 200, witness.text);
  const autos = async (path: string) => (await admin.get(`/v2/${P}/instances/${attachedId}/${path}`, { query: { limit: '100' } })).body.records
    .filter((x: any) => x.scan_type === 'auto');
  const looked = (since: number) => waitFor(async () => (await autos('auto-expire/histories')).filter((x: any) => Date.parse(x.created_at) >= since).length >= 2,
    20_000, 'two scheduler looks');
  await looked(Date.parse(witness.body.updated_at));
  assert.deepEqual(await autos('bigkey-tasks'), [], 'no analysis when the schedule is set');
  const down = Date.now();
  await restart();
  await looked(down);
  assert.deepEqual(await autos('bigkey-tasks'), [], 'nor at start-up: the slot was not missed while the service was down');
  assert.equal((await admin.put(bigkey, { enable_auto_scan: false, schedule_at: [] })).status, 200);
  assert.equal((await admin.put(expire, { enable_auto_scan: false })).status, 200);
});

test('a slot that comes while a scan is in flight is skipped, not run once the scan has ended (records.md §5)', async () => {
  // Each step waits 2 s: the manual scan is still in flight when the first slot comes.
  const slow = await startService({ env: { DCS_SCHEDULER_TICK_MS: '200', DCS_STEP_DELAY_MS: '2000' } });
  const redis = await startRedis();
  try {
    const c = client(slow.url, slow.admin);
    const id = await attachRunningRedis(c, 'autoscan-busy', redis.url);
    const manual = await c.post(`/v2/${P}/instances/${id}/scan-expire-keys-task`, undefined);
    assert.equal(manual.status, 200, manual.text);
    const put = await c.put(`/v2/${P}/instances/${id}/scan-expire-keys/autoscan-config`, {
      enable_auto_scan: true, first_scan_at: new Date(Date.now() + 500).toISOString(), interval: 3, timeout: 6, scan_keys_count: 10,
    });
    assert.equal(put.status, 200, put.text);
    const first = Date.parse(put.body.first_scan_at);
    const records = async () => (await c.get(`/v2/${P}/instances/${id}/auto-expire/histories`, { query: { limit: '100' } })).body.records;
    const auto = await waitFor(async () => (await records()).find((x: any) => x.scan_type === 'auto' && x.status === 'success'), 30_000, 'an automatic scan');
    const m = (await records()).find((x: any) => x.id === manual.body.id);
    assert.ok(Date.parse(m.finished_at) > first, `the first slot came while the manual scan ran: ${JSON.stringify(m)}`);
    assert.notEqual(auto.id, slotId(id, 'expire', first), 'the first slot was skipped');
    assert.ok(!(await records()).some((x: any) => x.id === slotId(id, 'expire', first)), 'the first slot has no record');
    assert.ok(Date.parse(auto.created_at) >= first + 3000, `the first automatic scan is a later slot's: ${JSON.stringify(auto)}`);
  } finally {
    await slow.stop();
    await redis.stop();
  }
});
