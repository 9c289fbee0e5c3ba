/**
 * The typed client against the real service (a child process) and real redis-server processes:
 * every route through its method, the typed answers checked against what really happened.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { DcsApiError, DcsTasksClient, waitForTask } from 'dcs-tasks';
import { startService, type Service } from '../helpers/service.js';
import { Redis } from 'ioredis';
import { waitFor } from '../helpers/client.js';
import { finishedJob, newestTask, typedClient, untilRunning } from '../helpers/dcs-client.js';

let svc: Service;
let admin: DcsTasksClient;
let id: string;
const PASSWORD = 'Client#Pass123';

before(async () => {
  svc = await startService();
  admin = typedClient(svc, svc.admin);
});

after(async () => {
  await svc?.stop();
});

test("import { DcsTasksClient } from 'dcs-tasks' is the typed client", () => {
  assert.ok(admin instanceof DcsTasksClient);
  assert.equal(admin.projectId, svc.admin.project_id);
});

test('a client logged (console.log, console.dir, JSON.stringify) shows its endpoint and access key, never the secret key or a token', () => {
  for (const shown of [inspect(admin, { depth: 10, showHidden: true }), JSON.stringify(admin)]) {
    assert.ok(!shown.includes(svc.admin.secret_key), shown);
    assert.ok(shown.includes(svc.admin.access_key), shown);
  }
  // customInspect: false is what console.dir and a debugger's object view do.
  const raw = inspect(admin, { depth: 10, showHidden: true, customInspect: false });
  assert.ok(raw.includes('Transport') && !raw.includes(svc.admin.secret_key), raw);
  const byToken = new DcsTasksClient({ endpoint: svc.url, projectId: svc.admin.project_id, token: 'tok-secret-123' });
  for (const shown of [inspect(byToken, { depth: 10, showHidden: true }), inspect(byToken, { depth: 10, customInspect: false }), JSON.stringify(byToken)]) {
    assert.ok(!shown.includes('tok-secret-123'), shown);
  }
});

test('createInstance, getInstance, listInstances: a managed redis-server', async () => {
  const created = await admin.createInstance({ name: 'typed-client', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: PASSWORD, vpc_id: 'ignored' });
  assert.equal(created.order_id, null);
  assert.equal(created.instances.length, 1);
  assert.equal(created.instances[0]!.instance_name, 'typed-client');
  id = created.instances[0]!.instance_id;
  await untilRunning(admin, id);
  const shown = await admin.getInstance(id);
  assert.equal(shown.instance_id, id);
  assert.equal(shown.engine, 'Redis');
  assert.equal(shown.capacity_minor, '0.125');
  assert.equal(shown.no_password_access, 'false');
  assert.equal(shown.nodes[0]!.role, 'master');
  const list = await admin.listInstances();
  assert.equal(list.instance_num, 1);
  assert.deepEqual(list.instances.map((i) => i.instance_id), [id]);
});

test('flushInstances → a flushInstance task: listTasks, getTaskProgress, getJob, listCentreTasks, deleteTask', async () => {
  const r = await admin.flushInstances([id]);
  assert.deepEqual(r.results, [{ instance: id, result: 'success' }]);
  const task = await newestTask(admin, id, 'flushInstance');
  assert.match(task.id, /^[0-9a-f]{32}$/);
  assert.equal(task.user_name, 'alice');
  const job = await finishedJob(admin, task.id, id);
  assert.equal(job.status, 'SUCCESS');
  assert.equal(job.job_type, 'flushInstance');
  assert.equal(job.fail_reason, null);
  assert.match(job.end_time!, /^\d+$/);
  const progress = await admin.getTaskProgress(id, task.id);
  assert.equal(progress.progress, 100);
  assert.equal(progress.remain_time, 0);
  assert.ok(progress.step_details.length > 0);
  assert.ok(progress.step_details.every((s) => s.step_status === 'FINISH'));
  const listed = await admin.listTasks(id, { offset: 0, limit: 10 });
  assert.equal(listed.task_count, '1');
  assert.equal(listed.tasks[0]!.status, 'SUCCESS');
  const centre = await admin.listCentreTasks();
  const entry = centre.tasks.find((t) => t.id === task.id)!;
  assert.equal(entry.instance_id, id);
  assert.equal(entry.instance_name, 'typed-client');
  assert.equal(entry.job_id, task.id);
  assert.equal(entry.error_code, null);
  assert.deepEqual(await admin.deleteTask(id, task.id), { message: '' });
  const again = await admin.deleteTask(id, task.id).catch((e) => e);
  assert.ok(again instanceof DcsApiError);
  assert.equal(again.errorCode, 'DCS.4001');
  assert.equal(again.httpStatus, 404);
  assert.match(again.requestId!, /^[0-9a-f]{32}$/);
  assert.equal((await admin.listTasks(id)).task_count, '0');
});

test('waitForTask with the instanceId of another instance: DcsApiError DCS.4001, not a wait without progress', async () => {
  const other = await admin.createInstance({ name: 'typed-other', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: PASSWORD });
  const otherId = other.instances[0]!.instance_id;
  await untilRunning(admin, otherId);
  await admin.flushInstances([id]);
  const task = await newestTask(admin, id, 'flushInstance');
  const e = await waitForTask(admin, task.id, { instanceId: otherId, intervalMs: 100 }).catch((x) => x);
  assert.ok(e instanceof DcsApiError, String(e));
  assert.equal(e.errorCode, 'DCS.4001');
  assert.equal((await waitForTask(admin, task.id, { instanceId: id, intervalMs: 100 })).status, 'SUCCESS');
  // A malformed instance id is the caller's mistake too (it waited and answered SUCCESS).
  const malformed = await waitForTask(admin, task.id, { instanceId: 'nope', intervalMs: 100 }).catch((x) => x);
  assert.ok(malformed instanceof DcsApiError, String(malformed));
  assert.equal(malformed.errorCode, 'DCS.4061');
  // A finished task outlives its deleted instance (task centre): waiting on it with that instance still answers.
  await admin.flushInstances([otherId]);
  const otherTask = await newestTask(admin, otherId, 'flushInstance');
  await waitForTask(admin, otherTask.id, { instanceId: otherId, intervalMs: 100 });
  await admin.deleteInstance(otherId);
  assert.equal((await waitForTask(admin, otherTask.id, { instanceId: otherId, intervalMs: 100 })).status, 'SUCCESS');
  await admin.deleteCentreTask(otherTask.id); // the centre holds only this file's instance's tasks (a later test counts on it)
});

test('restartInstances and softRestartInstances: restartInstance / softRestartInstance tasks succeed', async () => {
  assert.deepEqual((await admin.restartInstances([id])).results, [{ instance: id, result: 'success' }]);
  const restart = await newestTask(admin, id, 'restartInstance');
  assert.equal((await finishedJob(admin, restart.id, id)).status, 'SUCCESS');
  await untilRunning(admin, id);
  assert.deepEqual((await admin.softRestartInstances([id])).results, [{ instance: id, result: 'success' }]);
  const soft = await newestTask(admin, id, 'softRestartInstance');
  assert.equal((await finishedJob(admin, soft.id, id)).status, 'SUCCESS');
  await untilRunning(admin, id);
});

test('changePassword: task "modify"; the password never appears in the task', async () => {
  const r = await admin.changePassword(id, { old_password: PASSWORD, new_password: 'Second#Pass456' });
  assert.equal(r.result, 'success');
  const t = await newestTask(admin, id, 'modify');
  assert.equal((await finishedJob(admin, t.id, id)).status, 'SUCCESS');
  assert.doesNotMatch(JSON.stringify(await admin.listTasks(id)), /Second#Pass456|Client#Pass123/);
});

test('modifyConfigs: task "modifyConfigs"; a bad value → DcsApiError DCS.4066', async () => {
  assert.equal(await admin.modifyConfigs(id, [{ param_id: '2', param_name: 'maxmemory-policy', param_value: 'allkeys-lru' }]), undefined);
  const t = await newestTask(admin, id, 'modifyConfigs');
  assert.equal((await finishedJob(admin, t.id, id)).status, 'SUCCESS');
  const bad = await admin.modifyConfigs(id, [{ param_name: 'maxmemory-policy', param_value: 'no-such-policy' }]).catch((e) => e);
  assert.ok(bad instanceof DcsApiError, String(bad));
  assert.equal(bad.errorCode, 'DCS.4066');
  assert.equal(bad.httpStatus, 400);
});

test('resizeInstance: EXTEND with old and new capacity in details; getInstance shows the new capacity', async () => {
  const { job_id } = await admin.resizeInstance(id, { spec_code: 'redis.single.xu1.tiny.256', new_capacity: 0.25 });
  assert.match(job_id, /^[0-9a-f]{32}$/);
  const job = await finishedJob(admin, job_id, id);
  assert.equal(job.job_type, 'EXTEND');
  assert.equal(job.status, 'SUCCESS');
  const t = (await admin.listTasks(id)).tasks.find((x) => x.id === job_id)!;
  assert.deepEqual(t.details, { old_capacity: '0.125', new_capacity: '0.25' });
  assert.equal((await admin.getInstance(id)).capacity_minor, '0.25');
});

test('modifyInstance: the name changes at once', async () => {
  assert.equal(await admin.modifyInstance(id, { name: 'typed-renamed', description: 'via the client' }), undefined);
  const i = await admin.getInstance(id);
  assert.equal(i.name, 'typed-renamed');
  assert.equal(i.description, 'via the client');
});

test('resizeInstance createReplication, then swapInstance: AddReplica and masterStandbySwapJob', async () => {
  const before = await admin.getInstance(id);
  const add = await admin.resizeInstance(id, { change_type: 'createReplication' });
  assert.equal((await finishedJob(admin, add.job_id, id)).status, 'SUCCESS');
  const withReplica = await admin.getInstance(id);
  assert.equal(withReplica.replica_count, 2);
  const replica = withReplica.nodes.find((n) => n.role === 'replica')!;
  const swap = await admin.swapInstance(id);
  const job = await finishedJob(admin, swap.job_id, id);
  assert.equal(job.job_type, 'masterStandbySwapJob');
  assert.equal(job.status, 'SUCCESS', job.fail_reason ?? '');
  const after = await admin.getInstance(id);
  assert.equal(after.port, before.port, 'the instance keeps its port');
  assert.equal(after.nodes.find((n) => n.name === replica.name)!.role, 'master');
});

test('createToken: the token works as X-Auth-Token; a token cannot issue another', async () => {
  const t = await admin.createToken(300);
  assert.match(t.token, /^dcs/);
  const ttl = Date.parse(t.expires_at) - Date.now();
  assert.ok(ttl > 290_000 && ttl <= 300_000, `expires_at ${t.expires_at}`);
  const byToken = new DcsTasksClient({ endpoint: svc.url, projectId: svc.admin.project_id, token: t.token });
  assert.equal((await byToken.getInstance(id)).instance_id, id);
  const again = await byToken.createToken(300).catch((e) => e);
  assert.ok(again instanceof DcsApiError);
  assert.equal(again.errorCode, 'DCS.4800');
  const bogus = new DcsTasksClient({ endpoint: svc.url, projectId: svc.admin.project_id, token: 'dcs-not-a-token' });
  const denied = await bogus.listInstances().catch((e) => e);
  assert.equal(denied.errorCode, 'DCS.1001');
  assert.equal(denied.httpStatus, 401);
});

test('ACL accounts through every client method: create, role, password change and reset, remark, delete — real Redis ACL users', async () => {
  const port = (await admin.getInstance(id)).port;
  const redis = new Redis({ host: '127.0.0.1', port, password: 'Second#Pass456', maxRetriesPerRequest: 1, lazyConnect: true });
  const account = async () => (await admin.listAclAccounts(id)).find((a) => a.account_name === 'typedacl');
  const available = () => waitFor(async () => { const a = await account(); return a?.status === 'AVAILABLE' && a; }, 30_000, 'account AVAILABLE');
  const canLogIn = async (password: string) => {
    const r = new Redis({ host: '127.0.0.1', port, username: 'typedacl', password, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    try { await r.connect(); return (await r.ping()) === 'PONG'; } catch { return false; } finally { r.disconnect(); }
  };
  try {
    await admin.createAclAccount(id, { account_name: 'typedacl', account_role: 'read', account_password: 'Acl#First123' });
    const created = await available();
    assert.equal(created.account_role, 'read');
    assert.ok(await canLogIn('Acl#First123'));

    const job = await admin.updateAclAccountRole(id, created.account_id, 'write');
    assert.equal(job.instance_id, id);
    assert.equal((await finishedJob(admin, job.job_id, id)).status, 'SUCCESS');
    assert.equal((await available()).account_role, 'write');
    assert.match(String(await redis.call('ACL', 'GETUSER', 'typedacl').then((u) => JSON.stringify(u))), /~\*|allkeys/);

    await admin.changeAclAccountPassword(id, created.account_id, 'Acl#First123', 'Acl#Second123');
    await available();
    await waitFor(() => canLogIn('Acl#Second123'), 20_000, 'the changed password in force');
    assert.equal(await canLogIn('Acl#First123'), false);

    await admin.resetAclAccountPassword(id, created.account_id, 'Acl#Third123');
    await available();
    await waitFor(() => canLogIn('Acl#Third123'), 20_000, 'the reset password in force');

    await admin.updateAclAccountRemark(id, created.account_id, 'typed client account');
    const remarked = await waitFor(async () => { const a = await account(); return a?.description === 'typed client account' && a.status === 'AVAILABLE' && a; }, 20_000);
    assert.equal(remarked.account_role, 'write');

    await admin.deleteAclAccount(id, created.account_id);
    await waitFor(async () => (await account()) === undefined, 30_000, 'account gone');
    assert.equal(await canLogIn('Acl#Third123'), false);
  } finally {
    redis.disconnect();
  }
});

test('deleteCentreTask with a message; query windows; deleteInstance leaves finished tasks in the centre', async () => {
  const all = await admin.listCentreTasks({ limit: 1000 });
  assert.ok(Number(all.task_count) >= 6);
  const page = await admin.listCentreTasks({ offset: 1, limit: 2 });
  assert.deepEqual(page.tasks.map((t) => t.id), all.tasks.slice(1, 3).map((t) => t.id));
  const future = await admin.listCentreTasks({ start_time: new Date(Date.now() + 3600_000) });
  assert.deepEqual(future, { task_count: '0', tasks: [] });
  const window = await admin.listTasks(id, { start_time: new Date(Date.now() - 3600_000), end_time: '29991231235959', limit: 1000 });
  assert.equal(window.tasks.length, Number(window.task_count));
  const backwards = await admin.listCentreTasks({ start_time: '20250101000000', end_time: '20240101000000' }).catch((e) => e);
  assert.equal(backwards.errorCode, 'DCS.4025');

  const victim = all.tasks[0]!;
  assert.deepEqual(await admin.deleteCentreTask(victim.id, 'cleaned up by the client test'), { message: '' });
  assert.equal((await admin.getJob(victim.id).catch((e) => e)).errorCode, 'DCS.4001');
  assert.equal((await admin.deleteCentreTask(victim.id).catch((e) => e)).httpStatus, 404);

  assert.equal(await admin.deleteInstance(id), undefined);
  const gone = await admin.getInstance(id).catch((e) => e);
  assert.equal(gone.errorCode, 'DCS.3022');
  assert.equal(gone.httpStatus, 404);
  const left = await admin.listCentreTasks({ limit: 1000 });
  assert.equal(Number(left.task_count), Number(all.task_count) - 1);
  assert.ok(left.tasks.every((t) => t.instance_id === id));
  const remaining = left.tasks[0]!;
  assert.deepEqual(await admin.deleteCentreTask(remaining.id), { message: '' });
});
