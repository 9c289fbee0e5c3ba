/**
 * The automatic backup policy on create, modify and show instance (codes DCS.4072–4076, manual
 * keeps the plan, nothing of a refused PUT applied), and its scheduled backups: the current hour's
 * slot makes one `auto` backup (a real file), or a `failed` dcs.08.0008 record when a task runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { client, waitFor, type Client } from '../helpers/client.js';
import { createRunningInstance } from '../helpers/instance.js';
import { startService, type Service } from '../helpers/service.js';

let svc: Service;
let admin: Client;
let reader: Client;
const P = '{p}';
const password = 'Policy#Pass123';

before(async () => {
  svc = await startService({ env: { DCS_SCHEDULER_TICK_MS: '200', DCS_STEP_DELAY_MS: '1500' } });
  admin = client(svc.url, svc.admin);
  reader = client(svc.url, svc.reader);
});

after(async () => {
  await svc?.stop();
});

const now = () => new Date();
const hour = (h: number) => `${String(h).padStart(2, '0')}:00`;
/** The plan whose slot is under way right now (UTC). */
const currentPlan = () => {
  const d = now();
  return { backup_at: [((d.getUTCDay() + 6) % 7) + 1], period_type: 'weekly', begin_at: `${hour(d.getUTCHours())}-${hour((d.getUTCHours() + 1) % 24)}` };
};
const notNow = () => {
  const d = now();
  return { backup_at: [((d.getUTCDay() + 1) % 7) + 1], period_type: 'weekly', begin_at: '03:00-04:00', timezone_offset: '+0800' };
};

test('policy on create, show and modify: codes DCS.4072-4076, manual keeps the plan, a refused PUT changes nothing', async () => {
  const r = await admin.post(`/v2/${P}/instances`, {
    name: 'policy-create', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password,
    instance_backup_policy: { backup_type: 'auto', save_days: 3, periodical_backup_plan: notNow() },
  });
  assert.equal(r.status, 200, r.text);
  const id = r.body.instances[0].instance_id;
  const shown = (await reader.get(`/v2/${P}/instances/${id}`)).body.instance_backup_policy;
  assert.match(shown.backup_policy_id, /^[0-9a-f-]{36}$/);
  assert.equal(shown.tenant_id, admin.project);
  assert.deepEqual(shown.policy, { backup_type: 'auto', save_days: 3, periodical_backup_plan: { ...notNow() } });

  const bad: [Record<string, unknown>, string][] = [
    [{ backup_type: 'daily' }, 'DCS.4073'], [{}, 'DCS.4073'],
    [{ backup_type: 'auto', save_days: 8, periodical_backup_plan: notNow() }, 'DCS.4072'],
    [{ backup_type: 'auto', periodical_backup_plan: notNow() }, 'DCS.4072'],
    [{ backup_type: 'auto', save_days: 1 }, 'DCS.4800'],
    [{ backup_type: 'auto', save_days: 1, periodical_backup_plan: { ...notNow(), period_type: 'daily' } }, 'DCS.4074'],
    [{ backup_type: 'auto', save_days: 1, periodical_backup_plan: { ...notNow(), backup_at: [] } }, 'DCS.4075'],
    [{ backup_type: 'auto', save_days: 1, periodical_backup_plan: { ...notNow(), backup_at: [1, 1] } }, 'DCS.4075'],
    [{ backup_type: 'auto', save_days: 1, periodical_backup_plan: { ...notNow(), backup_at: [8] } }, 'DCS.4075'],
    [{ backup_type: 'auto', save_days: 1, periodical_backup_plan: { ...notNow(), begin_at: '03:00-05:00' } }, 'DCS.4076'],
    [{ backup_type: 'auto', save_days: 1, periodical_backup_plan: { ...notNow(), begin_at: '3:00-4:00' } }, 'DCS.4076'],
  ];
  for (const [policy, code] of bad) {
    const put = await admin.put(`/v2/${P}/instances/${id}`, { name: 'renamed', instance_backup_policy: policy });
    assert.equal(put.status, 400, JSON.stringify(policy));
    assert.equal(put.body.error_code, code, JSON.stringify(policy));
  }
  const after = (await reader.get(`/v2/${P}/instances/${id}`)).body;
  assert.equal(after.name, 'policy-create', 'a refused PUT renames nothing');
  assert.deepEqual(after.instance_backup_policy, shown);
  assert.equal((await reader.put(`/v2/${P}/instances/${id}`, { instance_backup_policy: { backup_type: 'manual' } })).status, 403);

  const manual = await admin.put(`/v2/${P}/instances/${id}`, { instance_backup_policy: { backup_type: 'manual' } });
  assert.equal(manual.status, 204, manual.text);
  const kept = (await reader.get(`/v2/${P}/instances/${id}`)).body.instance_backup_policy;
  assert.deepEqual(kept.policy, { ...shown.policy, backup_type: 'manual' }, 'manual keeps save_days and the plan');
  assert.equal(kept.backup_policy_id, shown.backup_policy_id);
  // Shown as set, in the order given (Terraform's backup_at is a list: a reordered echo is a diff).
  const plan = { backup_at: [7, 1, 4], period_type: 'weekly', begin_at: '03:00-04:00', timezone_offset: '+0800' };
  const unordered = await admin.put(`/v2/${P}/instances/${id}`, { instance_backup_policy: { backup_type: 'auto', save_days: 2, periodical_backup_plan: plan } });
  assert.equal(unordered.status, 204, unordered.text);
  assert.deepEqual((await reader.get(`/v2/${P}/instances/${id}`)).body.instance_backup_policy.policy.periodical_backup_plan, plan);

  const refusedCreate = await admin.post(`/v2/${P}/instances`, {
    name: 'policy-bad', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password, instance_backup_policy: { backup_type: 'auto' },
  });
  assert.equal(refusedCreate.body.error_code, 'DCS.4072');
  assert.equal((await admin.get(`/v2/${P}/instances`, { query: { name: 'policy-bad' } })).body.instance_num, 0, 'no instance created');
});

test('the current hour\'s slot: one automatic rdb backup with period begin_at, a real file; once however many ticks', async () => {
  const { id } = await createRunningInstance(admin, 'policy-run', password);
  const plan = currentPlan();
  assert.equal((await admin.put(`/v2/${P}/instances/${id}`, { instance_backup_policy: { backup_type: 'auto', save_days: 1, periodical_backup_plan: plan } })).status, 204);
  const b = await waitFor(async () => {
    const [x] = (await admin.get(`/v2/${P}/instances/${id}/backups`)).body.backup_record_response;
    return x && x.status === 'succeed' && x;
  }, 30_000, 'the automatic backup');
  assert.deepEqual([b.backup_type, b.backup_format, b.period, b.remark], ['auto', 'rdb', plan.begin_at, null]);
  assert.ok(fs.statSync(path.join(svc.dataDir, 'backups', id, b.backup_id, fs.readdirSync(path.join(svc.dataDir, 'backups', id, b.backup_id))[0]!)).size > 0);
  const until = Date.now() + 2000;
  await waitFor(async () => Date.now() > until, 5000, 'ten more ticks');
  assert.equal((await admin.get(`/v2/${P}/instances/${id}/backups`)).body.total_num, 1);
});

test('a slot that comes while a task runs is recorded failed, dcs.08.0008', async () => {
  const { id } = await createRunningInstance(admin, 'policy-busy', password);
  const flush = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' });
  assert.equal(flush.status, 200, flush.text);
  assert.equal((await admin.put(`/v2/${P}/instances/${id}`, { instance_backup_policy: { backup_type: 'auto', save_days: 1, periodical_backup_plan: currentPlan() } })).status, 204);
  const b = await waitFor(async () => (await admin.get(`/v2/${P}/instances/${id}/backups`)).body.backup_record_response[0], 10_000, 'the slot\'s record');
  assert.equal(b.status, 'failed', JSON.stringify(b));
  assert.equal(b.error_code, 'dcs.08.0008');
  assert.equal(b.backup_type, 'auto');
  const until = Date.now() + 2500; // the flush ends meanwhile: the slot has been used, nothing more
  await waitFor(async () => Date.now() > until, 5000, 'the flush over');
  assert.equal((await admin.get(`/v2/${P}/instances/${id}/backups`)).body.total_num, 1);
});
