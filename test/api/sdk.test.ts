/**
 * The official Huawei Cloud SDK core, pointed at our endpoint: ClientBuilder + BasicCredentials
 * + HcClient.sendRequest on the DCS routes, exactly as a generated DCS client drives it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { ClientBuilder } from '@huaweicloud/huaweicloud-sdk-core/ClientBuilder.js';
import { client, waitFor } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';


let svc: Service;
let redis: TestRedis;
let hc: any;
let instanceId: string;
let taskId: string;

before(async () => {
  redis = await startRedis();
  svc = await startService();
  const admin = client(svc.url, svc.admin);
  const created = await admin.post('/v2/{p}/instances', {
    name: 'sdk-attached', engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redis.url, no_password_access: true,
  });
  instanceId = created.body.instances[0].instance_id;
  const credentials = new BasicCredentials().withAk(svc.admin.access_key).withSk(svc.admin.secret_key).withProjectId(svc.admin.project_id);
  hc = new ClientBuilder<any>((c: any) => c).withCredential(credentials).withEndpoint(svc.url).build();
});

after(async () => {
  await svc?.stop();
  await redis?.stop();
});

function send(method: string, url: string, pathParams: Record<string, string>, extra: Record<string, unknown> = {}) {
  return hc.sendRequest({
    method, url, contentType: 'application/json', headers: {}, queryParams: {},
    pathParams: { project_id: svc.admin.project_id, ...pathParams }, data: {}, ...extra,
  });
}

test('SDK: operation, list, progress, job, task centre and delete', async () => {
  const op = await send('PUT', '/v2/{project_id}/instances/status', {}, { data: { instances: [instanceId], action: 'flush' } });
  assert.equal(op.httpStatusCode, 200);
  const listed = await waitFor(async () => {
    const r = await send('GET', '/v2/{project_id}/instances/{instance_id}/tasks', { instance_id: instanceId }, { queryParams: { offset: 0, limit: 10 } });
    return r.tasks?.[0]?.status === 'SUCCESS' && r;
  });
  assert.equal(listed.httpStatusCode, 200);
  assert.equal(listed.task_count, '1');
  taskId = listed.tasks[0].id;
  const progress = await send('GET', '/v2/{project_id}/instances/{instance_id}/tasks/{task_id}/progress', { instance_id: instanceId, task_id: taskId });
  assert.equal(progress.progress, 100);
  const job = await send('GET', '/v2/{project_id}/jobs/{job_id}', { job_id: taskId });
  assert.equal(job.status, 'SUCCESS');
  const centre = await send('GET', '/v2/{project_id}/tasks', {}, { queryParams: { start_time: '20200101000000', limit: 5 } });
  assert.equal(centre.tasks[0].job_id, taskId);
  const deleted = await send('DELETE', '/v2/{project_id}/instances/{instance_id}/tasks/{task_id}', { instance_id: instanceId, task_id: taskId });
  assert.equal(deleted.httpStatusCode, 200);
  assert.equal(deleted.message, '');
});

test('SDK: errors carry our error_code', async () => {
  await assert.rejects(
    send('DELETE', '/v2/{project_id}/instances/{instance_id}/tasks/{task_id}', { instance_id: instanceId, task_id: taskId }),
    (e: any) => e.httpStatusCode === 404 && e.errorCode === 'DCS.4001' && typeof e.errorMsg === 'string',
  );
  await assert.rejects(
    send('DELETE', '/v2/{project_id}/tasks/{task_id}', { task_id: 'nothex' }),
    (e: any) => e.httpStatusCode === 400 && e.errorCode === 'DCS.4070',
  );
  const wrong = new BasicCredentials().withAk(svc.admin.access_key).withSk('not-the-secret').withProjectId(svc.admin.project_id);
  const bad = new ClientBuilder<any>((c: any) => c).withCredential(wrong).withEndpoint(svc.url).build();
  await assert.rejects(
    bad.sendRequest({ method: 'GET', url: '/v2/{project_id}/tasks', contentType: 'application/json', headers: {}, queryParams: {}, pathParams: { project_id: svc.admin.project_id } }),
    (e: any) => e.httpStatusCode === 401 && e.errorCode === 'DCS.1001',
  );
});
