/**
 * Issue 9, each class of edge against a real service process: prototype keys, deep nesting and
 * unknown fields, a refused body on a kept-alive connection, content types, resources (capacity,
 * quota, instance directories) and file modes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { call, client, credentialOf, waitFor, type Client, type Reply } from '../helpers/client.js';
import { startService, tempDir, type Service } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { RedisSupervisor } from '../../src/redis/supervisor.js';
import pino from 'pino';

let svc: Service;
let redis: TestRedis;
let admin: Client;
let instanceId: string;
const UNKNOWN_TASK = '8abf6e1e72c12e7c0172c15b508500aa';

function assertError(r: Reply, status: number, code: string, msg?: RegExp) {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.deepEqual(Object.keys(r.body ?? {}).sort(), ['error_code', 'error_ext_msg', 'error_msg'], r.text);
  assert.equal(r.body.error_code, code, r.text);
  assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
  if (msg) assert.match(r.body.error_msg, msg);
}

before(async () => {
  redis = await startRedis();
  // A data directory that exists with the usual 0755: the service must close it.
  const dataDir = path.join(tempDir(), 'data');
  fs.mkdirSync(dataDir, { mode: 0o755 });
  fs.chmodSync(dataDir, 0o755);
  svc = await startService({ dataDir, env: { DCS_INSTANCE_QUOTA: '3' } });
  admin = client(svc.url, svc.admin);
  const created = await admin.post('/v2/{p}/instances', {
    name: 'edges-attached', engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redis.url, no_password_access: true,
  });
  assert.equal(created.status, 200, created.text);
  instanceId = created.body.instances[0].instance_id;
});

after(async () => {
  await svc?.stop();
  await redis?.stop();
});

const lastTask = async (id: string) => (await admin.get(`/v2/{p}/instances/${id}/tasks`)).body.tasks?.[0];

test('class 1: configuration names that are Object.prototype members → 400 DCS.4066, no task', async () => {
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
    const r = await admin.put(`/v2/{p}/instances/${instanceId}/configs`, { redis_config: [{ param_name: name, param_value: '1' }] });
    assertError(r, 400, 'DCS.4066', /Unknown or unmodifiable parameter/);
  }
  assert.equal(await lastTask(instanceId), undefined);
});

test('class 2: a body nested deeper than 32 levels → 400 DCS.4800 naming the problem; shallow unknown fields are not stored', async () => {
  for (const depth of [33, 1000, 5000, 100_000]) {
    // Too deep for JSON.stringify here: the raw bytes are signed through X-Sdk-Content-Sha256.
    const rawBody = `{"instances":["${instanceId}"],"action":"flush","junk":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const refused = await admin.put('/v2/{p}/instances/status', undefined, {
      rawBody, headers: { 'X-Sdk-Content-Sha256': createHash('sha256').update(rawBody).digest('hex') },
    });
    assertError(refused, 400, 'DCS.4800', /body.*deeper than 32/);
  }
  assert.equal(await lastTask(instanceId), undefined, 'a refused body starts nothing');
  const atLimit = JSON.parse('['.repeat(31) + ']'.repeat(31));
  const accepted = await admin.call('DELETE', `/v2/{p}/tasks/${UNKNOWN_TASK}`, { body: { message: 'x', junk: atLimit } });
  assertError(accepted, 404, 'DCS.4001');

  const r = await admin.put('/v2/{p}/instances/status', { instances: [instanceId], action: 'flush', junk: { a: [1, 2, { b: 'x' }] }, __proto__x: 1 });
  assert.equal(r.status, 200, r.text);
  const task = await waitFor(async () => { const t = await lastTask(instanceId); return t?.status === 'SUCCESS' && t; });
  assert.deepEqual(JSON.parse(task.params), { action: 'flush', instances: [instanceId] });
  assert.doesNotMatch(task.params, /junk|__proto__x/);
});

test('class 2: create accepts and ignores cloud-network fields such as vpc_id', async () => {
  const r = await admin.post('/v2/{p}/instances', {
    name: 'edges-vpc', engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redis.url, no_password_access: true,
    vpc_id: 'a1b2', subnet_id: 'c3d4', security_group_id: 'e5f6', available_zones: ['az1'], tags: [{ key: 'k', value: 'v' }],
  });
  assert.equal(r.status, 200, r.text);
});

/** One signed request and then a second on the same connection: both must be answered or the connection closed. */
function exchange(port: number, first: string, second: string): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let sentSecond = false;
    const done = (closed: boolean) => { clearTimeout(timer); socket.destroy(); resolve({ text, closed }); };
    const timer = setTimeout(() => done(false), 8000);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (!sentSecond && /\r\n\r\n[^]*"error_code"[^]*\}$/.test(text)) {
        sentSecond = true;
        socket.write(second, () => {});
      }
      if ((text.match(/HTTP\/1\.1 /g) ?? []).length >= 2 && text.endsWith('}')) done(false);
    });
    socket.on('error', () => {});
    socket.on('close', () => done(true));
    socket.write(first, () => {});
  });
}

test('class 4: a signed GET with a 3 MiB body gets its 400 and the connection does not hang', async () => {
  const url = new URL(svc.url);
  const data = { filler: 'x'.repeat(3 * 1024 * 1024) };
  const p = `/v2/${svc.admin.project_id}/tasks`;
  const headers = AKSKSigner.sign(
    { endpoint: `${svc.url}${p}`, method: 'GET', headers: { 'content-type': 'application/json' }, queryParams: {}, data } as any,
    credentialOf(svc.admin),
  ) as Record<string, string>;
  const body = JSON.stringify(data);
  const head = Object.entries({ ...headers, 'Content-Length': String(Buffer.byteLength(body)) }).map(([k, v]) => `${k}: ${v}`).join('\r\n');
  const out = await exchange(Number(url.port), `GET ${p} HTTP/1.1\r\n${head}\r\n\r\n${body}`, `GET /health HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.match(out.text, /^HTTP\/1\.1 400 /, out.text.slice(0, 300));
  assert.match(out.text, /"error_code":"DCS\.4800"/);
  // Either the connection was closed after the refusal, or the next request was answered.
  const answeredNext = /HTTP\/1\.1 200 [^]*"status":"ok"/.test(out.text);
  assert.ok(out.closed || answeredNext, `neither answered nor closed: ${out.text.slice(0, 400)}`);
});

test('class 5: content type is decided by the bytes, after authentication and routing', async () => {
  for (const ct of ['', 'json', 'text/plain', 'application/x-www-form-urlencoded']) {
    const r = await admin.del(`/v2/{p}/tasks/${UNKNOWN_TASK}`, { body: { message: 'x' }, headers: { 'content-type': ct } });
    assertError(r, 404, 'DCS.4001');
    const unsigned = await call(svc.url, null, 'DELETE', `/v2/${svc.admin.project_id}/tasks/${UNKNOWN_TASK}`, { body: { message: 'x' }, headers: { 'content-type': ct } });
    assertError(unsigned, 401, 'DCS.1003');
    const wrongMethod = await admin.call('PATCH', `/v2/{p}/tasks/${UNKNOWN_TASK}`, { body: { message: 'x' }, headers: { 'content-type': ct } });
    assertError(wrongMethod, 405, 'DCS.4001');
  }
});

test('class 7: a capacity that rounds below 1 MiB → 400 DCS.4800, nothing created', async () => {
  for (const capacity of [1e-10, 0.0005, 1 / 2048]) {
    const r = await admin.post('/v2/{p}/instances', { name: 'edges-tiny', engine: 'Redis', engine_version: '7.0', capacity, password: 'Str0ng#Pass' });
    assertError(r, 400, 'DCS.4800', /capacity.*1 MiB/);
  }
  const list = await admin.get('/v2/{p}/instances');
  assert.ok(!list.body.instances.some((i: { name: string }) => i.name === 'edges-tiny'));
  const resize = await admin.post(`/v2/{p}/instances/${instanceId}/resize`, { new_capacity: 1e-10 });
  assertError(resize, 400, 'DCS.4800', /new_capacity.*1 MiB/);
});

test('class 7: the supervisor never starts redis-server without a memory limit', async () => {
  const sup = new RedisSupervisor({ redisServer: 'redis-server', logger: pino({ level: 'silent' }) });
  const dir = path.join(tempDir(), 'node');
  await assert.rejects(sup.start({ instanceId: 'x:node-0', port: 1, password: null, maxmemoryBytes: 0, dir }), /maxmemory 0/);
  assert.equal(sup.list().length, 0);
  assert.equal(fs.existsSync(path.join(dir, 'redis.conf')), false);
});

test('class 7: per-project instance quota, also under concurrent creates', async () => {
  const other = client(svc.url, svc.other);
  const body = (n: number) => ({ name: `quota-${n}`, engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redis.url, no_password_access: true });
  const results = await Promise.all([1, 2, 3, 4, 5].map((n) => other.post('/v2/{p}/instances', body(n))));
  assert.equal(results.filter((r) => r.status === 200).length, 3, results.map((r) => r.text).join('\n'));
  for (const r of results.filter((x) => x.status !== 200)) assertError(r, 400, 'DCS.4109', /quota.*3 instances/);
  assert.equal((await other.get('/v2/{p}/instances')).body.instance_num, 3);
  const id = results.find((r) => r.status === 200)!.body.instances[0].instance_id;
  assert.equal((await other.del(`/v2/{p}/instances/${id}`)).status, 204);
  assert.equal((await other.post('/v2/{p}/instances', body(6))).status, 200, 'a deleted instance frees its place');
});

test('class 7 + 8: a managed instance lives in a 0700 directory of 0600 files, removed whole on delete', async () => {
  const created = await admin.post('/v2/{p}/instances', { name: 'edges-managed', engine: 'Redis', engine_version: '7.0', capacity: 0.0625, password: 'Str0ng#Pass' });
  assert.equal(created.status, 200, created.text);
  const id = created.body.instances[0].instance_id;
  await waitFor(async () => (await admin.get(`/v2/{p}/instances/${id}`)).body.status === 'RUNNING', 20_000, 'instance RUNNING');
  const dir = path.join(svc.dataDir, 'instances', id);
  const modes = listModes(svc.dataDir);
  assert.ok(modes.some(([p]) => p.startsWith(dir)), 'the instance has files');
  for (const [p, mode, isDir] of modes) assert.equal(mode, isDir ? 0o700 : 0o600, `${p} is ${mode.toString(8)}`);
  for (const f of ['dcs.db', 'dcs.db-wal', 'dcs.db-shm', 'test-credentials.json']) {
    assert.ok(modes.some(([p]) => p === path.join(svc.dataDir, f)), `${f} exists`);
  }
  assert.equal((await admin.del(`/v2/{p}/instances/${id}`)).status, 204);
  assert.equal(fs.existsSync(dir), false, `${dir} is left behind: ${fs.existsSync(dir) ? fs.readdirSync(dir) : ''}`);
});

/** Every path under `dir` (itself included) with its permission bits. */
function listModes(dir: string): [string, number, boolean][] {
  const out: [string, number, boolean][] = [[dir, fs.statSync(dir).mode & 0o777, true]];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listModes(p));
    else if (e.isFile()) out.push([p, fs.statSync(p).mode & 0o777, false]);
  }
  return out;
}

test('class 2: a route that takes no body refuses an array, a string, a number or true (400 DCS.4800) and changes nothing; none, null or an object go through', async () => {
  const created = await admin.post('/v2/{p}/instances', {
    name: 'edges-bodyless', engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redis.url, no_password_access: true,
  });
  assert.equal(created.status, 200, created.text);
  const id = created.body.instances[0].instance_id;
  for (const raw of ['[]', '"s"', '123', 'true']) {
    const headers = { 'X-Sdk-Content-Sha256': createHash('sha256').update(raw).digest('hex') };
    assertError(await admin.call('DELETE', `/v2/{p}/instances/${id}`, { rawBody: raw, headers }), 400, 'DCS.4800', /takes no body/);
    assertError(await admin.call('POST', `/v2/{p}/instances/${id}/swap`, { rawBody: raw, headers }), 400, 'DCS.4800', /takes no body/);
  }
  assert.equal((await admin.get(`/v2/{p}/instances/${id}`)).status, 200, 'a refused delete deleted the instance');
  assert.equal(await lastTask(id), undefined, 'a refused swap started a task');
  assert.equal((await admin.call('DELETE', `/v2/{p}/instances/${id}`, { rawBody: 'null', headers: { 'X-Sdk-Content-Sha256': createHash('sha256').update('null').digest('hex') } })).status, 204);
});
