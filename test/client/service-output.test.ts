/**
 * What the service tells an operator besides the API, against the real service: /health with
 * the store and the managed Redis processes (no auth, no secrets), task durations in /metrics,
 * the OpenAPI document's servers and integer paging, and the /docs page served locally.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { call, client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';

const P = '{p}';
let svc: Service;
let admin: Client;
let instanceId: string;

before(async () => {
  svc = await startService();
  admin = client(svc.url, svc.admin);
  const r = await admin.post(`/v2/${P}/instances`, { name: 'health-demo', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: 'Health#Pass1' });
  assert.equal(r.status, 200, r.text);
  instanceId = r.body.instances[0].instance_id;
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${instanceId}`)).body.status === 'RUNNING', 20_000, 'instance RUNNING');
});

after(async () => {
  await svc?.stop();
});

test('/health: store reachable, managed redis-server processes up; no auth; nothing secret', async () => {
  const h = await call(svc.url, null, 'GET', '/health');
  assert.equal(h.status, 200);
  assert.deepEqual(h.body, { status: 'ok', store: { reachable: true }, managed_redis: { total: 1, up: 1 } });
  assert.ok(!h.text.includes(svc.admin.secret_key) && !h.text.includes(svc.dataDir));

  // A managed redis-server killed: health says so until the supervisor has it back.
  const pid = Number(fs.readFileSync(path.join(svc.dataDir, 'instances', instanceId, 'node-0', 'redis.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  const degraded = await waitFor(async () => {
    const x = await call(svc.url, null, 'GET', '/health');
    return x.body.status === 'degraded' && x;
  }, 10_000, 'health degraded');
  assert.equal(degraded.status, 200, 'the process itself is up');
  assert.deepEqual(degraded.body.managed_redis, { total: 1, up: 0 });
  await waitFor(async () => (await call(svc.url, null, 'GET', '/health')).body.status === 'ok', 20_000, 'health ok again');
});

test('/metrics: task duration by task name and status, failures by task name and error code', async () => {
  const r = await admin.put(`/v2/${P}/instances/status`, { instances: [instanceId], action: 'flush' });
  assert.equal(r.status, 200, r.text);
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body.tasks.some((t: any) => t.name === 'flushInstance' && t.status === 'SUCCESS'), 20_000, 'flush SUCCESS');
  const ballast = new Redis({ host: '127.0.0.1', port: (await admin.get(`/v2/${P}/instances/${instanceId}`)).body.port, password: 'Health#Pass1', lazyConnect: true });
  await ballast.set('ballast', 'x'.repeat(2_000_000)); // 2 MB in use
  ballast.disconnect();
  const resize = await admin.post(`/v2/${P}/instances/${instanceId}/resize`, { new_capacity: 1 / 1024 }); // fails: 1 MiB does not fit it
  assert.equal(resize.status, 200, resize.text);
  await waitFor(async () => (await admin.get(`/v2/${P}/jobs/${resize.body.job_id}`)).body.status === 'FAIL', 20_000, 'resize FAIL');
  // The outcome is counted once its end is written, as the job shows it; the scrape may come first.
  const text = await waitFor(async () => {
    const m = await call(svc.url, null, 'GET', '/metrics');
    assert.equal(m.status, 200);
    return /^dcs_task_failures_total\{task_name="EXTEND"/m.test(m.text) && m.text;
  }, 10_000, 'the failed resize counted');
  assert.match(text, /^dcs_task_duration_seconds_count\{task_name="flushInstance",status="SUCCESS"\} 1$/m);
  const sum = /^dcs_task_duration_seconds_sum\{task_name="flushInstance",status="SUCCESS"\} ([\d.e-]+)$/m.exec(text);
  assert.ok(sum && Number(sum[1]) > 0 && Number(sum[1]) < 60, text);
  assert.match(text, /^dcs_task_duration_seconds_count\{task_name="EXTEND",status="FAILED"\} 1$/m);
  assert.match(text, /^dcs_task_failures_total\{task_name="EXTEND",error_code="DCS\.4113"\} 1$/m);
  assert.doesNotMatch(text, /task_name="restartInstance"/, 'no series for a task name that never ran');
});

test('OpenAPI: a servers entry, integer offset/limit, operationId of the audit route; /docs served locally', async () => {
  const o = await call(svc.url, null, 'GET', '/openapi.json');
  assert.deepEqual(o.body.servers, [{ url: '/', description: 'this dcs-tasks service' }]);
  for (const p of ['/v2/{project_id}/tasks', '/v2/{project_id}/instances/{instance_id}/tasks', '/v2/{project_id}/task-audit']) {
    const params = o.body.paths[p].get.parameters as { name: string; schema: { type: string } }[];
    assert.equal(params.find((x) => x.name === 'offset')?.schema.type, 'integer', p);
    assert.equal(params.find((x) => x.name === 'limit')?.schema.type, 'integer', p);
  }
  assert.equal(o.body.paths['/v2/{project_id}/task-audit'].get.operationId, 'ListTaskAudit');
  const docs = await fetch(`${svc.url}/docs/`);
  assert.equal(docs.status, 200);
  const html = await docs.text();
  assert.match(html, /Swagger UI/);
  assert.doesNotMatch(html, /https?:\/\/(?!127\.0\.0\.1)[a-z]/i, 'no asset from another host');
  const css = await fetch(`${svc.url}/docs/static/swagger-ui.css`);
  assert.equal(css.status, 200);
});

test('task-audit is signed like every DCS route', async () => {
  const r = await call(svc.url, null, 'GET', `/v2/${svc.admin.project_id}/task-audit`);
  assert.equal(r.status, 401);
  assert.equal(r.body.error_code, 'DCS.1003'); // no credentials at all (auth.md)
  assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
});
