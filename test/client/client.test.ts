/**
 * The typed client against the real service (a child process) and real redis-server processes:
 * every route through its method, the typed answers checked against what really happened.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DcsApiError, DcsTasksClient } from 'dcs-tasks';
import { startService, type Service } from '../helpers/service.js';
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
  assert.equal(shown.capacity, 0.125);
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
