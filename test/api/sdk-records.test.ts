/**
 * The records through the official SDK core, with the request shapes the generated DcsClient
 * builds (contentType, headers, data `{}` when there is no body): copyInstance (with and without a
 * body), listBackupRecords, listBackupFileLinks, deleteBackupFile, and the big-key family.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { ClientBuilder } from '@huaweicloud/huaweicloud-sdk-core/ClientBuilder.js';
import { client, waitFor } from '../helpers/client.js';
import { createRunningInstance } from '../helpers/instance.js';
import { onRedis } from '../helpers/redis.js';
import { startService, type Service } from '../helpers/service.js';

let svc: Service;
let hc: any;
let id: string;
let port: number;
const password = 'SdkRec#Pass123';

before(async () => {
  svc = await startService();
  ({ id, port } = await createRunningInstance(client(svc.url, svc.admin), 'sdk-records', password));
  const credentials = new BasicCredentials().withAk(svc.admin.access_key).withSk(svc.admin.secret_key).withProjectId(svc.admin.project_id);
  hc = new ClientBuilder<any>((c: any) => c).withCredential(credentials).withEndpoint(svc.url).build();
});

after(async () => {
  await svc?.stop();
});

/** As DcsClient.ts builds its options: every field present, data {} without a body. */
function send(method: string, url: string, o: { pathParams?: Record<string, string>; queryParams?: Record<string, unknown>; data?: unknown; contentType?: string } = {}) {
  const contentType = o.contentType ?? 'application/json';
  return hc.sendRequest({
    method, url, contentType, queryParams: o.queryParams ?? {}, headers: contentType === 'application/json' ? {} : { 'Content-Type': contentType },
    pathParams: { project_id: svc.admin.project_id, instance_id: id, ...(o.pathParams ?? {}) }, data: o.data ?? {},
  });
}

test('SDK: copyInstance with and without a body, listBackupRecords, listBackupFileLinks, deleteBackupFile', async () => {
  await onRedis(port, password, (r) => r.set('sdk:key', 'v'));
  const withBody = await send('POST', '/v2/{project_id}/instances/{instance_id}/backups', { contentType: 'application/json;charset=UTF-8', data: { backup_format: 'rdb', remark: 'sdk' } });
  assert.equal(withBody.httpStatusCode, 200);
  // One backup at a time (a second in flight would be DCS.4096): the first finishes before the next.
  await waitFor(async () => (await send('GET', '/v2/{project_id}/instances/{instance_id}/backups')).backup_record_response[0].status === 'succeed', 30_000, 'first backup');
  const bare = await send('POST', '/v2/{project_id}/instances/{instance_id}/backups', { contentType: 'application/json;charset=UTF-8' });
  assert.equal(bare.httpStatusCode, 200);
  const list = await waitFor(async () => {
    const r = await send('GET', '/v2/{project_id}/instances/{instance_id}/backups', { queryParams: { begin_time: '20200101000000', end_time: '20991231235959', offset: 0, limit: 10 } });
    return r.backup_record_response.every((b: any) => b.status === 'succeed' || b.status === 'failed') && r;
  }, 30_000, 'both backups finished');
  assert.equal(list.total_num, 2);
  assert.deepEqual(list.backup_record_response.map((b: any) => [b.backup_id, b.status, b.remark]).sort(),
    [[withBody.backup_id, 'succeed', 'sdk'], [bare.backup_id, 'succeed', null]].sort());

  const links = await send('POST', '/v2/{project_id}/instances/{instance_id}/backups/{backup_id}/links', { pathParams: { backup_id: withBody.backup_id }, data: { expiration: 600 } });
  assert.equal(links.httpStatusCode, 200);
  const file = await fetch(links.links[0].link);
  assert.equal(file.status, 200);
  assert.equal(Buffer.from(await file.arrayBuffer()).subarray(0, 5).toString(), 'REDIS');

  const del = await send('DELETE', '/v2/{project_id}/instances/{instance_id}/backups/{backup_id}', { pathParams: { backup_id: bare.backup_id } });
  assert.equal(del.httpStatusCode, 204);
  await assert.rejects(
    send('DELETE', '/v2/{project_id}/instances/{instance_id}/backups/{backup_id}', { pathParams: { backup_id: bare.backup_id } }),
    (e: any) => e.errorCode === 'DCS.4031' && e.httpStatusCode === 400,
  );
});

test('SDK: createBigkeyScanTask (data {}), listBigkeyScanTasks, showBigkeyScanTaskDetails, deleteBigkeyScanTask, autoscan', async () => {
  await onRedis(port, password, (r) => r.set('sdk:big', 'x'.repeat(4000)));
  const created = await send('POST', '/v2/{project_id}/instances/{instance_id}/bigkey-task');
  assert.equal(created.httpStatusCode, 200);
  assert.equal(created.status, 'waiting');
  const shown = await waitFor(async () => {
    const r = await send('GET', '/v2/{project_id}/instances/{instance_id}/bigkey-task/{bigkey_id}', { pathParams: { bigkey_id: created.id } });
    return r.status === 'success' && r;
  }, 30_000, 'analysis done');
  assert.deepEqual(shown.keys.find((k: any) => k.name === 'sdk:big'), { name: 'sdk:big', type: 'string', shard: `127.0.0.1:${port}`, db: 0, size: 4000, unit: 'byte' });
  const list = await send('GET', '/v2/{project_id}/instances/{instance_id}/bigkey-tasks', { queryParams: { offset: 0, limit: 10, status: 'success' } });
  assert.equal(list.count, 1);
  assert.equal(list.records[0].id, created.id);
  const put = await send('PUT', '/v2/{project_id}/instances/{instance_id}/bigkey/autoscan', { data: { enable_auto_scan: true, schedule_at: ['22:00'] } });
  assert.deepEqual([put.enable_auto_scan, put.schedule_at], [true, ['22:00']]);
  const config = await send('GET', '/v2/{project_id}/instances/{instance_id}/bigkey/autoscan');
  assert.deepEqual(config.schedule_at, ['22:00']);
  const del = await send('DELETE', '/v2/{project_id}/instances/{instance_id}/bigkey-task/{bigkey_id}', { pathParams: { bigkey_id: created.id } });
  assert.equal(del.id, created.id);
  await assert.rejects(
    send('GET', '/v2/{project_id}/instances/{instance_id}/bigkey-task/{bigkey_id}', { pathParams: { bigkey_id: created.id } }),
    (e: any) => e.errorCode === 'DCS.4942',
  );
});
