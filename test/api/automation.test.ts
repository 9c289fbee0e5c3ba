/**
 * What the Terraform provider and the SDKs read (automation.md §1–3), against real redis-servers:
 * the instance's `task` and field types, list filters and paging, status counts, fixed path
 * segments, GET configs, async-configs and async-swap with their effects in Redis, password
 * reset, ACL accounts as Redis ACL users, batch delete, flavors and zones.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { call, client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { onRedis as onRedisAt } from '../helpers/redis.js';

let svc: Service;
let admin: Client;
let id: string;
let other: string;
const PASSWORD = 'Auto#Pass123';
const P = '{p}';

/** The instance password unless another is given; an ACL user when `username` is. */
const onRedis = <T>(port: number, fn: (r: Redis) => Promise<T>, password: string | null = PASSWORD, username?: string) =>
  onRedisAt(port, password, fn, username);
const show = async (x = id) => (await admin.get(`/v2/${P}/instances/${x}`)).body;
const job = async (jobId: string) => waitFor(async () => {
  const j = (await admin.get(`/v2/${P}/jobs/${jobId}`)).body;
  return ['SUCCESS', 'FAIL'].includes(j.status) && j;
}, 60_000, `job ${jobId}`);
const idle = async (x = id) => waitFor(async () => {
  const s = await show(x);
  return s.status === 'RUNNING' && s.task === null && s;
}, 60_000, 'instance idle');

async function create(name: string, extra: Record<string, unknown> = {}) {
  const r = await admin.post(`/v2/${P}/instances`, { name, engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: PASSWORD, ...extra });
  assert.equal(r.status, 200, r.text);
  return r.body.instances[0].instance_id as string;
}

before(async () => {
  // Each step waits a little, so a running task can be observed.
  svc = await startService({ env: { DCS_STEP_DELAY_MS: '300' } });
  admin = client(svc.url, svc.admin);
  id = await create('automation-a', { vpc_id: 'vpc-1', tags: [{ key: 'env', value: 'test' }, { key: 'team', value: 'x' }], maintain_begin: '02:00:00', maintain_end: '03:00:00' });
  other = await create('automation-b');
  await idle(id);
  await idle(other);
});

after(async () => {
  await svc?.stop();
});

test('show: §3.4 fields with their JSON types; task null when idle', async () => {
  const s = await show();
  assert.equal(s.task, null);
  assert.equal(s.status, 'RUNNING');
  assert.equal(s.capacity, 0);
  assert.equal(s.capacity_minor, '0.125');
  assert.equal(s.max_memory, 128);
  assert.equal(typeof s.used_memory, 'number');
  assert.ok(s.used_memory >= 0 && Number.isInteger(s.used_memory));
  assert.equal(s.replica_count, 1);
  assert.equal(s.cache_mode, 'single');
  assert.equal(s.charging_mode, 0);
  assert.equal(s.transparent_client_ip_enable, false);
  assert.equal(s.no_password_access, 'false');
  assert.equal(s.description, '');
  assert.equal(s.spec_code, '');
  assert.equal(s.vpc_id, 'vpc-1');
  assert.equal(s.enterprise_project_id, '0');
  assert.equal(s.maintain_begin, '02:00:00');
  assert.equal(s.maintain_end, '03:00:00');
  assert.equal(s.sub_status, 'normal');
  assert.deepEqual(s.features, { support_acl: true, support_transparent_client_ip: false, support_ssl: false, support_audit_log: false });
  assert.equal(s.user_name, svc.admin.user_name);
  assert.deepEqual(s.tags, [{ key: 'env', value: 'test' }, { key: 'team', value: 'x' }]);
  assert.equal(s.replica_num, undefined);
  assert.match(s.update_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('PUT: the maintenance window and the security group change at once; one end of the window alone is refused and changes nothing', async () => {
  const lone = await admin.put(`/v2/${P}/instances/${other}`, { maintain_begin: '06:00:00', description: 'not applied' });
  assert.equal(lone.status, 400);
  assert.equal(lone.body.error_code, 'DCS.4800');
  assert.match(lone.body.error_msg, /maintain_end/);
  const badTime = await admin.put(`/v2/${P}/instances/${other}`, { maintain_begin: '24:00:00', maintain_end: '01:00:00' });
  assert.equal(badTime.body.error_code, 'DCS.4800');
  const before = await show(other);
  assert.equal(before.description, '');
  assert.equal(before.maintain_begin, '18:00:00');
  const r = await admin.put(`/v2/${P}/instances/${other}`, { maintain_begin: '06:00:00', maintain_end: '07:00:00', security_group_id: 'sg-2' });
  assert.equal(r.status, 204, r.text);
  const after = await show(other);
  assert.equal(after.maintain_begin, '06:00:00');
  assert.equal(after.maintain_end, '07:00:00');
  assert.equal(after.security_group_id, 'sg-2');
  assert.equal(after.task, null, 'no task: the record changes at once');
  const alone = await admin.post(`/v2/${P}/instances`, { name: 'automation-lone', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: PASSWORD, maintain_end: '01:00:00' });
  assert.equal(alone.status, 400);
  assert.match(alone.body.error_msg, /maintain_begin/);
  assert.equal((await admin.get(`/v2/${P}/instances`)).body.instance_num, 2, 'nothing created');
});

test('names: Chinese characters count as letters (DCS\'s rule, the provider\'s documentation); other characters are refused', async () => {
  const before = (await show(other)).name;
  for (const name of ['缓存', 'tf cache', '1cache', '-cache', 'cache\u{1F680}']) {
    const r = await admin.put(`/v2/${P}/instances/${other}`, { name });
    assert.equal(r.status, 400, `${name}: ${r.text}`);
    assert.equal(r.body.error_code, 'DCS.4800');
  }
  assert.equal((await show(other)).name, before);
  for (const name of ['tf缓存实例', '缓存实例-1']) {
    assert.equal((await admin.put(`/v2/${P}/instances/${other}`, { name })).status, 204, name);
    assert.equal((await show(other)).name, name);
  }
  assert.equal((await admin.put(`/v2/${P}/instances/${other}`, { name: before })).status, 204);
});

test('tags change through POST …/dcs/{id}/tags/action (the provider\'s tag update): create replaces a key\'s value, delete removes keys', async () => {
  const url = `/v2/${P}/dcs/${other}/tags/action`;
  const tags = async () => (await show(other)).tags;
  assert.equal((await admin.post(url, { action: 'create', tags: [{ key: 'env', value: 'dev' }, { key: 'team', value: 'a' }] })).status, 204);
  assert.equal((await admin.post(url, { action: 'create', tags: [{ key: 'env', value: 'prod' }] })).status, 204);
  assert.deepEqual(await tags(), [{ key: 'team', value: 'a' }, { key: 'env', value: 'prod' }]);
  const filtered = (await admin.get(`/v2/${P}/instances`, { query: { tags: 'env=prod' } })).body.instances.map((x: any) => x.instance_id);
  assert.deepEqual(filtered, [other], 'the list filters by the new tags');
  // Read back as the SDK's ShowTags and ListTagsOfTenant do.
  assert.deepEqual((await admin.get(`/v2/${P}/instances/${other}/tags`)).body, { tags: [{ key: 'team', value: 'a' }, { key: 'env', value: 'prod' }] });
  // The other instance was created with env=test and team=x.
  assert.deepEqual((await admin.get(`/v2/${P}/dcs/tags`)).body, { tags: [{ key: 'env', values: ['prod', 'test'] }, { key: 'team', values: ['a', 'x'] }] });
  const unknownTags = await admin.get(`/v2/${P}/instances/00000000-0000-4000-8000-000000000000/tags`);
  assert.equal(unknownTags.status, 404);
  assert.equal(unknownTags.body.error_code, 'DCS.3022');
  for (const body of [{ action: 'replace', tags: [{ key: 'x' }] }, { action: 'create', tags: [] }, { action: 'create', tags: [{ value: 'no-key' }] },
    { action: 'create', tags: Array.from({ length: 19 }, (_, k) => ({ key: `k${k}` })) }]) {
    const r = await admin.post(url, body);
    assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
    assert.equal(r.body.error_code, 'DCS.4800');
  }
  assert.equal((await client(svc.url, svc.reader).post(url, { action: 'delete', tags: [{ key: 'env' }] })).status, 403);
  assert.deepEqual(await tags(), [{ key: 'team', value: 'a' }, { key: 'env', value: 'prod' }], 'refusals changed nothing');
  assert.equal((await admin.post(url, { action: 'delete', tags: [{ key: 'team', value: 'other' }] })).status, 204);
  assert.equal((await tags()).length, 2, 'a delete with another value leaves the tag');
  assert.equal((await admin.post(url, { action: 'delete', tags: [{ key: 'team' }, { key: 'env', value: 'prod' }] })).status, 204);
  assert.deepEqual(await tags(), []);
  // Twenty creates at once, each of its own key: every one is kept.
  const keys = Array.from({ length: 20 }, (_, k) => `c${k}`);
  const all = await Promise.all(keys.map((key) => admin.post(url, { action: 'create', tags: [{ key, value: key }] })));
  assert.deepEqual(all.map((r) => r.status), keys.map(() => 204));
  assert.deepEqual((await tags()).map((t: any) => t.key).sort(), [...keys].sort());
  assert.equal((await admin.post(url, { action: 'delete', tags: keys.map((key) => ({ key })) })).status, 204);
  const unknown = await admin.post(`/v2/${P}/dcs/00000000-0000-4000-8000-000000000000/tags/action`, { action: 'create', tags: [{ key: 'a' }] });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error_code, 'DCS.3022');
});

test('a request that starts a task: task is set in the answer\'s transaction, cleared when the task ends', async () => {
  const r = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' });
  assert.equal(r.status, 200, r.text);
  const s = await show();
  assert.notEqual(s.task, null, 'task must be set as soon as the request is answered');
  assert.equal(s.task.name, 'flushInstance');
  assert.match(s.task.id, /^[0-9a-f]{32}$/);
  assert.ok(['CREATED', 'WAITING', 'EXECUTING'].includes(s.task.status));
  assert.equal(s.status, 'FLUSHING');
  // busy: a change now gets the §1.3 code (flush → DCS.4026), as does deleting the instance
  const busy = await admin.put(`/v2/${P}/instances/${id}/async-configs`, { redis_config: [{ param_id: '1', param_name: 'timeout', param_value: '10' }] });
  assert.equal(busy.status, 400);
  assert.equal(busy.body.error_code, 'DCS.4026');
  const del = await admin.del(`/v2/${P}/instances/${id}`);
  assert.equal(del.status, 400);
  assert.equal(del.body.error_code, 'DCS.4026');
  await idle();
});

test('a backup and a restore: task named backup / restore, EXECUTING when the request is answered, null once done', async () => {
  const b = await admin.post(`/v2/${P}/instances/${other}/backups`, undefined);
  assert.equal(b.status, 200, b.text);
  const during = await show(other);
  assert.deepEqual({ ...during.task, created_at: undefined }, { id: b.body.backup_id, name: 'backup', status: 'EXECUTING', created_at: undefined });
  assert.equal(during.status, 'RUNNING');
  await idle(other);
  const r = await admin.post(`/v2/${P}/instances/${other}/restores`, { backup_id: b.body.backup_id });
  assert.equal(r.status, 200, r.text);
  const restoring = await show(other);
  assert.deepEqual({ ...restoring.task, created_at: undefined }, { id: r.body.restore_id, name: 'restore', status: 'EXECUTING', created_at: undefined });
  assert.equal(restoring.status, 'RESTORING');
  await idle(other);
});

test('list: filters, paging (offset past the end → 200 []), one array and a total', async () => {
  const all = (await admin.get(`/v2/${P}/instances`)).body;
  assert.equal(all.instance_num, 2);
  // InstanceListInfo's sub_status and features (automation.md §3.1).
  assert.equal(all.instances[0].sub_status, 'normal');
  assert.equal(all.instances[0].features.support_acl, true);
  assert.deepEqual(Object.keys(all).filter((k) => Array.isArray(all[k])), ['instances']);
  assert.equal(all.instances[0].instance_id, other, 'newest first');
  const byName = (await admin.get(`/v2/${P}/instances`, { query: { name: 'automation-a' } })).body;
  assert.deepEqual(byName.instances.map((i: any) => i.instance_id), [id]);
  const sub = (await admin.get(`/v2/${P}/instances`, { query: { name: 'automation' } })).body;
  assert.equal(sub.instance_num, 2);
  const exact = (await admin.get(`/v2/${P}/instances`, { query: { name: 'automation', name_equal: 'true' } })).body;
  assert.equal(exact.instance_num, 0);
  assert.deepEqual((await admin.get(`/v2/${P}/instances`, { query: { instance_id: other } })).body.instances.map((i: any) => i.instance_id), [other]);
  assert.equal((await admin.get(`/v2/${P}/instances`, { query: { status: 'RUNNING' } })).body.instance_num, 2);
  assert.equal((await admin.get(`/v2/${P}/instances`, { query: { status: 'NOPE' } })).body.instance_num, 0);
  assert.equal((await admin.get(`/v2/${P}/instances`, { query: { tags: 'env=test,team' } })).body.instance_num, 1);
  assert.equal((await admin.get(`/v2/${P}/instances`, { query: { capacity: '0.125' } })).body.instance_num, 2);
  const page = (await admin.get(`/v2/${P}/instances`, { query: { offset: '1', limit: '1' } })).body;
  assert.equal(page.instance_num, 2);
  assert.deepEqual(page.instances.map((i: any) => i.instance_id), [id]);
  const past = await admin.get(`/v2/${P}/instances`, { query: { offset: '5', limit: '10' } });
  assert.equal(past.status, 200);
  assert.deepEqual(past.body.instances, []);
  assert.equal(past.body.instance_num, 2);
  const bad = await admin.get(`/v2/${P}/instances`, { query: { instance_id: 'nope' } });
  assert.equal(bad.body.error_code, 'DCS.4061');
  assert.equal((await admin.get(`/v2/${P}/instances`, { query: { limit: '0' } })).body.error_code, 'DCS.4800');
  assert.equal((await admin.get(`/v2/${P}/instances`, { query: { tags: '=x' } })).body.error_code, 'DCS.4800');
});

test('fixed segments win over {instance_id}: status counts, statistic, export-job', async () => {
  const st = await admin.get(`/v2/${P}/instances/status`);
  assert.equal(st.status, 200, st.text);
  assert.equal(st.body.running_count, 2);
  assert.equal(st.body.redis.running_count, 2);
  assert.equal(st.body.memcached.running_count, 0);
  assert.equal(st.body.createfailed_count, 0);
  const stats = await admin.get(`/v2/${P}/instances/statistic`);
  assert.equal(stats.status, 200, stats.text);
  assert.equal(stats.body.statistics.length, 2);
  const ex = await admin.get(`/v2/${P}/instances/export-job`);
  assert.equal(ex.status, 404);
  assert.equal(ex.body.error_code, 'DCS.4001');
  // A method the fixed route does not serve is 405 with its own methods, not a malformed instance id.
  for (const [method, path, allow] of [
    ['DELETE', 'status', 'GET, HEAD, PUT'], ['PATCH', 'status', 'GET, HEAD, PUT'],
    ['DELETE', 'export-job', 'GET, HEAD'], ['PUT', 'statistic', 'GET, HEAD'],
  ] as const) {
    const r = await admin.call(method, `/v2/${P}/instances/${path}`);
    assert.equal(r.status, 405, `${method} ${path}: ${r.text}`);
    assert.equal(r.body.error_code, 'DCS.4001');
    assert.deepEqual(r.headers.get('allow')?.split(', ').sort(), allow.split(', ').sort(), `${method} ${path}`);
  }
  const typo = await admin.del(`/v2/${P}/instances/statu`);
  assert.equal(typo.body.error_code, 'DCS.4061', 'a path that is no fixed segment is still a malformed id');
});

test('GET configs lists the parameters with their values in Redis; async-configs changes them (job SUCCESS, CONFIG GET)', async () => {
  const c = await admin.get(`/v2/${P}/instances/${id}/configs`);
  assert.equal(c.status, 200, c.text);
  const policy = c.body.redis_config.find((p: any) => p.param_name === 'maxmemory-policy');
  assert.equal(policy.param_id, '2');
  assert.equal(policy.need_restart, false);
  assert.equal(policy.param_value, 'noeviction');
  // Nothing changed yet: every default_value is what this Redis runs with by default.
  for (const p of c.body.redis_config) assert.equal(p.default_value, p.param_value, p.param_name);

  const bad = await admin.put(`/v2/${P}/instances/${id}/async-configs`, { redis_config: [{ param_id: '1', param_name: 'maxmemory-policy', param_value: 'allkeys-lfu' }] });
  assert.equal(bad.body.error_code, 'DCS.4066');
  const empty = await admin.put(`/v2/${P}/instances/${id}/async-configs`, { redis_config: [] });
  assert.equal(empty.body.error_code, 'DCS.4800');
  const notJson = await admin.call('PUT', `/v2/${P}/instances/${id}/async-configs`, { headers: { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' }, rawBody: '{nope' });
  assert.equal(notJson.body.error_code, 'DCS.4005');

  const r = await admin.put(`/v2/${P}/instances/${id}/async-configs`, { redis_config: [{ param_id: '2', param_name: 'maxmemory-policy', param_value: 'allkeys-lfu' }] });
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.job_id, /^[0-9a-f]{32}$/);
  const j = await job(r.body.job_id);
  assert.equal(j.status, 'SUCCESS', JSON.stringify(j));
  assert.equal(j.job_type, 'modifyConfigs');
  const port = (await show()).port;
  assert.deepEqual(await onRedis(port, (x) => x.config('GET', 'maxmemory-policy')), ['maxmemory-policy', 'allkeys-lfu']);
  const after = (await admin.get(`/v2/${P}/instances/${id}/configs`)).body.redis_config.find((p: any) => p.param_name === 'maxmemory-policy');
  assert.equal(after.param_value, 'allkeys-lfu');
  await idle();
});

test('async-swap: without a replica DCS.4026; with one the job ends SUCCESS and the roles in Redis are swapped', async () => {
  const none = await admin.put(`/v2/${P}/instances/${other}/async-swap`, undefined);
  assert.equal(none.status, 400);
  assert.equal(none.body.error_code, 'DCS.4026');
  const add = await admin.post(`/v2/${P}/instances/${other}/resize`, { change_type: 'createReplication', new_capacity: 0.125 });
  assert.equal(add.status, 200, add.text);
  await idle(other);
  const before = await show(other);
  assert.equal(before.replica_count, 2);
  assert.equal(before.cache_mode, 'ha');
  const standby = before.nodes.find((n: any) => n.role === 'replica');
  const r = await admin.put(`/v2/${P}/instances/${other}/async-swap`, undefined);
  assert.equal(r.status, 200, r.text);
  const j = await job(r.body.job_id);
  assert.equal(j.status, 'SUCCESS', JSON.stringify(j));
  assert.equal(j.job_type, 'masterStandbySwapJob');
  const now = await idle(other);
  const master = now.nodes.find((n: any) => n.role === 'master');
  assert.equal(master.name, standby.name);
  assert.equal(master.port, now.port);
  const role = await onRedis(now.port, (x) => x.info('replication'));
  assert.match(role, /role:master/);
  const follower = now.nodes.find((n: any) => n.role === 'replica');
  assert.match(await onRedis(follower.port, (x) => x.info('replication')), /role:slave[\s\S]*master_link_status:up/);
  // §2: details.target_ip is the new master, source_ip the old one.
  const t = (await admin.get(`/v2/${P}/instances/${other}/tasks`)).body.tasks.find((x: any) => x.id === r.body.job_id);
  const portOf = (ipPort: string) => Number(ipPort.slice(ipPort.lastIndexOf(':') + 1));
  assert.equal(t.details.target_ip, `${now.ip}:${now.port}`);
  assert.match(await onRedis(portOf(t.details.target_ip), (x) => x.info('replication')), /role:master/);
  assert.match(await onRedis(portOf(t.details.source_ip), (x) => x.info('replication')), /role:slave/);
});

test('password reset: task resetPassword; the old password stops working, the new one works', async () => {
  const weak = await admin.post(`/v2/${P}/instances/${id}/password/reset`, { new_password: 'weak' });
  assert.equal(weak.body.error_code, 'DCS.4019');
  const NEW = 'Reset#Pass456';
  const r = await admin.post(`/v2/${P}/instances/${id}/password/reset`, { new_password: NEW });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.code, '0');
  assert.equal(r.body.lock_time, null);
  const t = await waitFor(async () => {
    const x = (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks.find((y: any) => y.name === 'resetPassword');
    return x && x.status === 'SUCCESS' && x;
  }, 60_000, 'resetPassword');
  assert.ok(!t.params.includes(NEW));
  const port = (await show()).port;
  assert.equal(await onRedis(port, (x) => x.ping(), NEW), 'PONG');
  await assert.rejects(onRedis(port, (x) => x.ping(), PASSWORD));
  // put the old one back for the other tests
  await admin.post(`/v2/${P}/instances/${id}/password/reset`, { new_password: PASSWORD });
  await waitFor(async () => (await onRedis(port, (x) => x.ping(), PASSWORD).catch(() => null)) === 'PONG', 60_000, 'old password back');
  await idle();
});

test('ACL accounts: real Redis ACL users; CREATING → AVAILABLE, role change by job, DeleteAcl removes the user', async () => {
  const path = `/v2/${P}/instances/${id}/accounts`;
  const bad = await admin.post(path, { account_name: 'reader1', account_role: 'read', account_password: 'short' });
  assert.equal(bad.body.error_code, 'DCS.4019');
  const ACC = 'Reader#Pass789';
  const r = await admin.post(path, { account_name: 'reader1', account_role: 'read', account_password: ACC, description: 'ro' });
  assert.equal(r.status, 200, r.text);
  const listed = (await admin.get(path)).body.accounts.find((a: any) => a.account_name === 'reader1');
  assert.ok(listed, 'listed at once');
  assert.ok(['CREATING', 'AVAILABLE'].includes(listed.status));
  await waitFor(async () => (await admin.get(path)).body.accounts.find((a: any) => a.account_name === 'reader1').status === 'AVAILABLE', 60_000, 'AVAILABLE');
  const { port } = await show();
  assert.equal(await onRedis(port, (x) => x.get('k'), ACC, 'reader1'), null);
  await assert.rejects(onRedis(port, (x) => x.set('k', '1'), ACC, 'reader1'), /NOPERM/);
  const list = (await admin.get(path)).body.accounts;
  assert.equal(list[0].account_type, 'default');
  const acc = list.find((a: any) => a.account_name === 'reader1');
  assert.equal(acc.account_role, 'read');
  assert.equal(acc.description, 'ro');
  assert.equal(JSON.stringify(list).includes(ACC), false);

  const role = await admin.put(`${path}/${acc.account_id}/role`, { account_role: 'write' });
  assert.equal(role.status, 200, role.text);
  assert.equal(role.body.instance_id, id);
  assert.equal((await job(role.body.job_id)).status, 'SUCCESS');
  assert.equal(await onRedis(port, (x) => x.set('k', '1'), ACC, 'reader1'), 'OK');
  await idle();

  const wrongOld = await admin.put(`${path}/${acc.account_id}/password/modify`, { old_password: 'Wrong#Pass1', new_password: 'Other#Pass123' });
  assert.equal(wrongOld.body.error_code, 'DCS.4080');
  const unknown = await admin.del(`${path}/00000000-0000-4000-8000-000000000000`);
  assert.equal(unknown.status, 404);
  // However long, an unknown account is that account's 404 — after the instance's own.
  const long = await admin.del(`${path}/${'a'.repeat(200)}`);
  assert.equal(long.status, 404, long.text);
  assert.equal(long.body.error_msg, unknown.body.error_msg);
  const noInstance = await admin.del(`/v2/${P}/instances/00000000-0000-4000-8000-00000000dead/accounts/${'a'.repeat(200)}`);
  assert.equal(noInstance.body.error_code, 'DCS.3022', noInstance.text);

  const del = await admin.del(`${path}/${acc.account_id}`);
  assert.equal(del.status, 200, del.text);
  const t = await waitFor(async () => {
    const x = (await admin.get(`/v2/${P}/instances/${id}/tasks`, { query: { limit: '10' } })).body.tasks.find((y: any) => y.name === 'DeleteAcl');
    return x && x.status === 'SUCCESS' && x;
  }, 60_000, 'DeleteAcl');
  assert.equal(t.details.account_name, 'reader1');
  assert.equal((await admin.get(path)).body.accounts.some((a: any) => a.account_name === 'reader1'), false);
  assert.deepEqual(await onRedis(port, (x) => x.call('ACL', 'USERS')), ['default']);
  await idle();
});

test('ACL users survive a restart of the instance', async () => {
  const path = `/v2/${P}/instances/${id}/accounts`;
  const ACC = 'Writer#Pass789';
  assert.equal((await admin.post(path, { account_name: 'writer1', account_role: 'write', account_password: ACC })).status, 200);
  await idle();
  assert.equal((await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'restart' })).status, 200);
  await idle();
  const { port } = await show();
  assert.equal(await onRedis(port, (x) => x.set('w', '1'), ACC, 'writer1'), 'OK');
});

test('launched_at is when the instance first ran, after its creation, and a restart does not move it', async () => {
  const first = await show();
  const launched = Date.parse(first.launched_at);
  assert.ok(launched > Date.parse(first.created_at), `launched ${first.launched_at}, created ${first.created_at}`);
  assert.equal((await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'restart' })).status, 200);
  const after = await idle();
  assert.ok(Date.parse(after.updated_at) > launched, `updated ${after.updated_at}`);
  assert.equal(after.launched_at, first.launched_at);
});

test('flavors and availability zones', async () => {
  const f = await admin.get(`/v2/${P}/flavors`, { query: { spec_code: 'redis.ha.xu1.large.r2.1' } });
  assert.equal(f.status, 200, f.text);
  assert.equal(f.body.flavors.length, 1);
  assert.equal(f.body.flavors[0].cache_mode, 'ha');
  assert.equal(f.body.flavors[0].replica_count, 2);
  // DCS's own codes of the small sizes are flavors too.
  const tiny = await admin.get(`/v2/${P}/flavors`, { query: { spec_code: 'redis.ha.xu1.tiny.r2.128' } });
  assert.deepEqual(tiny.body.flavors.map((x: any) => [x.cache_mode, x.capacity]), [['ha', ['0.125']]]);
  const z = await call(svc.url, svc.admin, 'GET', '/v2/available-zones');
  assert.equal(z.status, 200, z.text);
  assert.equal(typeof z.body.available_zones[0].id, 'string');
  assert.equal(typeof z.body.available_zones[0].code, 'string');
  // The provider's flavors data source drops every flavor whose first zone has no az_codes.
  const all = (await admin.get(`/v2/${P}/flavors`)).body.flavors;
  assert.ok(all.length > 0);
  for (const x of all) assert.deepEqual(x.flavors_available_zones[0].az_codes, [z.body.available_zones[0].code], x.spec_code);
  assert.equal((await admin.get(`/v2/${P}/flavors`, { query: { engine: 'Redis' } })).body.flavors.length, all.length);
  assert.deepEqual((await admin.get(`/v2/${P}/flavors`, { query: { engine: 'Memcache' } })).body.flavors, []);
  const malformed = await admin.get(`/v2/${P}/flavors`, { query: { instance_id: 'abc' } });
  assert.equal(malformed.body.error_code, 'DCS.4061', malformed.text);
});

test('a spec_code the flavors do not list, or of another capacity, or a password with no_password_access, is refused on create (and the flavors on resize); nothing changes', async () => {
  const before = (await admin.get(`/v2/${P}/instances`)).body.instance_num;
  const base = { engine: 'Redis', engine_version: '7.0', password: PASSWORD };
  for (const [body, param] of [
    [{ ...base, name: 'bogus-flavor', capacity: 1, spec_code: 'totally.bogus.spec' }, 'spec_code'],
    [{ ...base, name: 'wrong-size', capacity: 1, spec_code: 'redis.ha.xu1.large.r2.4' }, 'capacity'],
    // A password and no_password_access: true contradict each other (as on the password reset).
    [{ ...base, name: 'both-passwords', capacity: 1, no_password_access: true }, 'no_password_access'],
  ] as const) {
    const r = await admin.post(`/v2/${P}/instances`, body);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error_code, 'DCS.4800');
    assert.match(r.body.error_msg, new RegExp(`Invalid parameter ${param}`));
  }
  assert.equal((await admin.get(`/v2/${P}/instances`)).body.instance_num, before);
  const tasks = (await admin.get(`/v2/${P}/instances/${other}/tasks`)).body.task_count;
  for (const body of [{ spec_code: 'another.bogus', new_capacity: 2 }, { spec_code: 'redis.single.xu1.large.4', new_capacity: 2 }]) {
    const r = await admin.post(`/v2/${P}/instances/${other}/resize`, body);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error_code, 'DCS.4800');
  }
  assert.equal((await admin.get(`/v2/${P}/instances/${other}/tasks`)).body.task_count, tasks);
  assert.equal((await show(other)).capacity, 0);
});

test('a create with an ha spec_code starts a master and its replica; deleting the instance stops both', async () => {
  const ha = await create('automation-ha', { spec_code: 'redis.ha.xu1.large.r2.0.125' });
  const s = await idle(ha);
  assert.equal(s.spec_code, 'redis.ha.xu1.large.r2.0.125');
  assert.equal(s.replica_count, 2);
  assert.equal(s.cache_mode, 'ha');
  const replica = s.nodes.find((n: any) => n.role === 'replica');
  assert.ok(replica && replica.port !== s.port, JSON.stringify(s.nodes));
  assert.equal(await onRedis(s.port, (x) => x.set('ha-key', 'v')), 'OK');
  await waitFor(async () => (await onRedis(replica.port, (x) => x.get('ha-key'))) === 'v', 10_000, 'the write on the replica');
  assert.match(await onRedis(replica.port, (x) => x.info('replication')), /role:slave[\s\S]*master_link_status:up/);
  const del = await admin.del(`/v2/${P}/instances/${ha}`);
  assert.equal(del.status, 204, del.text);
  await waitFor(async () => (await onRedis(replica.port, (x) => x.ping()).catch(() => 'gone')) === 'gone', 10_000, 'the replica stopped');
});

test('batch delete: one result per id in order; malformed and unknown are failed; the deleted one is 404 after', async () => {
  const third = await create('automation-c');
  await idle(third);
  const missing = '00000000-0000-4000-8000-000000000000';
  const noBody = await admin.del(`/v2/${P}/instances`);
  assert.equal(noBody.body.error_code, 'DCS.4800');
  const r = await admin.call('DELETE', `/v2/${P}/instances`, { body: { instances: [third, 'bad', missing] } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.results, [
    { instance: third, result: 'success' }, { instance: 'bad', result: 'failed' }, { instance: missing, result: 'failed' },
  ]);
  const gone = await admin.get(`/v2/${P}/instances/${third}`);
  assert.equal(gone.status, 404);
  assert.equal(gone.body.error_code, 'DCS.3022');
});
