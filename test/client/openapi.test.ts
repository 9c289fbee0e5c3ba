/**
 * /openapi.json of a real service: a valid OpenAPI document (checked by a maintained
 * validator), describing every route of spec/api.md with its parameters, request and response
 * schemas; and what the service really sends (requests of the typed client, the answers,
 * errors included) validates against those schemas (Ajv).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { Validator } from '@seriousme/openapi-schema-validator';
import { DcsTasksClient, DcsApiError } from '../../src/client/index.js';
import { startService, type Service } from '../helpers/service.js';
import { finishedJob, newestTask, untilRunning } from '../helpers/dcs-client.js';

/** Every route of spec/api.md (plus tokens, auth.md, and the instance modify of the README). */
const ROUTES: [string, string][] = [
  ['get', '/v2/{project_id}/instances/{instance_id}/tasks'],
  ['get', '/v2/{project_id}/instances/{instance_id}/tasks/{task_id}/progress'],
  ['delete', '/v2/{project_id}/instances/{instance_id}/tasks/{task_id}'],
  ['get', '/v2/{project_id}/tasks'],
  ['delete', '/v2/{project_id}/tasks/{task_id}'],
  ['get', '/v2/{project_id}/jobs/{job_id}'],
  ['post', '/v2/{project_id}/instances'],
  ['get', '/v2/{project_id}/instances'],
  ['get', '/v2/{project_id}/instances/{instance_id}'],
  ['delete', '/v2/{project_id}/instances/{instance_id}'],
  ['put', '/v2/{project_id}/instances/{instance_id}'],
  ['put', '/v2/{project_id}/instances/status'],
  ['put', '/v2/{project_id}/instances/{instance_id}/password'],
  ['put', '/v2/{project_id}/instances/{instance_id}/configs'],
  ['post', '/v2/{project_id}/instances/{instance_id}/resize'],
  ['post', '/v2/{project_id}/instances/{instance_id}/swap'],
  ['post', '/v2/{project_id}/tokens'],
];
const WITH_BODY = new Set(['post /v2/{project_id}/instances', 'put /v2/{project_id}/instances/{instance_id}', 'put /v2/{project_id}/instances/status',
  'put /v2/{project_id}/instances/{instance_id}/password', 'put /v2/{project_id}/instances/{instance_id}/configs',
  'post /v2/{project_id}/instances/{instance_id}/resize', 'post /v2/{project_id}/tokens', 'delete /v2/{project_id}/tasks/{task_id}']);

type Schema = Record<string, any>;
interface Exchange { method: string; path: string; requestBody?: string; status: number; contentType: string | null; text: string }

let svc: Service;
let doc: Schema;
const exchanges: Exchange[] = [];

/** fetch that keeps a copy of every request and answer (the real ones; nothing is altered). */
const recordingFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  exchanges.push({
    method: (init?.method ?? 'GET').toLowerCase(), path: new URL(String(input)).pathname,
    requestBody: typeof init?.body === 'string' ? init.body : undefined,
    status: res.status, contentType: res.headers.get('content-type'), text: await res.clone().text(),
  });
  return res;
};

before(async () => {
  svc = await startService();
  const r = await fetch(`${svc.url}/openapi.json`);
  assert.equal(r.status, 200);
  doc = await r.json() as Schema;
});

after(async () => {
  await svc?.stop();
});

test('/openapi.json is a valid OpenAPI 3 document', async () => {
  assert.match(doc.openapi, /^3\./);
  const result = await new Validator().validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2)?.slice(0, 4000));
});

test('the route list above is every route spec/api.md names', (t) => {
  const spec = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/spec/api.md');
  if (!fs.existsSync(spec)) return t.skip(`no ${spec}`);
  const named = [...fs.readFileSync(spec, 'utf8').matchAll(/`(GET|PUT|POST|DELETE) (\/v2\/[^`\s?]+)/g)]
    .map((m) => `${m[1]!.toLowerCase()} ${m[2]!.replace('{id}', '{instance_id}')}`);
  assert.ok(named.length >= 14);
  const listed = new Set(ROUTES.map(([m, p]) => `${m} ${p}`));
  for (const r of named) assert.ok(listed.has(r), `${r} (api.md) is not checked`);
});

test('the service endpoints beside the DCS API are in the document too, marked as needing no credentials', () => {
  for (const p of ['/health', '/metrics', '/openapi.json', '/downloads/backups/{backup_id}/{file_name}']) {
    const op = doc.paths?.[p]?.get;
    assert.ok(op, `GET ${p} missing from /openapi.json`);
    assert.deepEqual(op.security, [], `GET ${p}: no credentials`);
  }
  const download = doc.paths['/downloads/backups/{backup_id}/{file_name}'].get;
  assert.deepEqual(download.parameters.filter((x: Schema) => x.in === 'path').map((x: Schema) => x.name).sort(), ['backup_id', 'file_name']);
});

test('every route is described: path parameters, request body schema, success and error response schemas', () => {
  for (const [method, p] of ROUTES) {
    const op = doc.paths?.[p]?.[method];
    assert.ok(op, `${method} ${p} missing from /openapi.json`);
    for (const name of p.match(/\{(\w+)\}/g)!.map((x) => x.slice(1, -1))) {
      const param = op.parameters?.find((x: Schema) => x.in === 'path' && x.name === name);
      assert.ok(param?.required && param.schema?.type === 'string', `${method} ${p}: path parameter ${name}`);
    }
    if (WITH_BODY.has(`${method} ${p}`)) {
      const body = op.requestBody?.content?.['application/json']?.schema;
      assert.ok(body?.type && body.properties, `${method} ${p}: request body schema`);
    }
    const okCode = Object.keys(op.responses).find((c) => c.startsWith('2'));
    assert.ok(okCode, `${method} ${p}: no success response`);
    if (okCode !== '204') {
      const s = op.responses[okCode].content?.['application/json']?.schema;
      assert.ok(s?.properties && s.required?.length === Object.keys(s.properties).length, `${method} ${p}: ${okCode} schema with every field required`);
    }
    for (const code of ['400', '401', '404']) {
      const s = op.responses[code]?.content?.['application/json']?.schema;
      assert.deepEqual(s?.required, ['error_code', 'error_msg', 'error_ext_msg'], `${method} ${p}: ${code} error body`);
    }
  }
});

/** OpenAPI 3.0 schema → JSON Schema for Ajv: `nullable` becomes a "null" type, boolean exclusive bounds numeric. */
function jsonSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(jsonSchema);
  if (s === null || typeof s !== 'object') return s;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) out[k] = k === 'enum' || k === 'required' ? v : jsonSchema(v);
  if (out.nullable === true) {
    out.type = [out.type, 'null'].flat();
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  delete out.nullable;
  for (const [ex, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (out[ex] === true) { out[ex] = out[bound]; delete out[bound]; } else if (out[ex] === false) delete out[ex];
  }
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true });
const templates = Object.keys({ ...Object.fromEntries(ROUTES.map(([, p]) => [p, 1])) })
  // Literal segments first: PUT /instances/status is not PUT /instances/{instance_id}.
  .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
const templateOf = (method: string, p: string) =>
  templates.find((t) => new RegExp(`^${t.replace(/\{\w+\}/g, '[^/]+')}$`).test(p) && doc.paths[t]?.[method]);

function check(schema: unknown, value: unknown, what: string): void {
  const validate = ajv.compile(jsonSchema(schema) as object);
  assert.ok(validate(value), `${what}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(value).slice(0, 1000)}`);
}

test('served answers (and the client\'s requests) validate against the documented schemas', async () => {
  const c = new DcsTasksClient({ endpoint: svc.url, projectId: svc.admin.project_id, accessKey: svc.admin.access_key, secretKey: svc.admin.secret_key, fetch: recordingFetch });
  const fails = (p: Promise<unknown>) => p.then(() => assert.fail('expected an API error'), (e) => assert.ok(e instanceof DcsApiError, String(e)));
  const { instances: [created] } = await c.createInstance({ name: 'openapi-check', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: 'Open#Api12345' });
  const id = created!.instance_id;
  await untilRunning(c, id);
  await c.listInstances();
  await c.flushInstances([id]);
  const flush = await newestTask(c, id, 'flushInstance');
  await finishedJob(c, flush.id, id);
  await c.getTaskProgress(id, flush.id);
  await c.listCentreTasks();
  await c.changePassword(id, { old_password: 'Open#Api12345', new_password: 'Open#Api67890' });
  await finishedJob(c, (await newestTask(c, id, 'modify')).id, id);
  await c.modifyConfigs(id, [{ param_name: 'timeout', param_value: '100' }]);
  await finishedJob(c, (await newestTask(c, id, 'modifyConfigs')).id, id);
  await finishedJob(c, (await c.resizeInstance(id, { new_capacity: 0.25 })).job_id, id);
  await fails(c.swapInstance(id)); // 400 DCS.4086: no replica
  await c.modifyInstance(id, { description: 'checked' });
  await c.createToken(120);
  await c.deleteTask(id, flush.id);
  await fails(c.deleteTask(id, flush.id)); // 404
  await fails(c.getJob('not-a-job')); // 400
  const rest = await c.listCentreTasks();
  await c.deleteCentreTask(rest.tasks[0]!.id, 'openapi test');
  await c.deleteInstance(id);
  await fails(c.getInstance(id)); // 404 DCS.3022
  const stranger = new DcsTasksClient({ endpoint: svc.url, projectId: svc.admin.project_id, accessKey: 'AKNOBODY', secretKey: 'x', fetch: recordingFetch });
  await fails(stranger.listInstances()); // 401

  const seen = new Set<string>();
  for (const x of exchanges) {
    const t = templateOf(x.method, x.path);
    assert.ok(t, `${x.method} ${x.path} matches no documented route`);
    const op = doc.paths[t][x.method];
    seen.add(`${x.method} ${t}`);
    const what = `${x.method.toUpperCase()} ${t} → ${x.status}`;
    if (x.requestBody !== undefined) check(op.requestBody.content['application/json'].schema, JSON.parse(x.requestBody), `${what} (request)`);
    const response = op.responses[String(x.status)];
    assert.ok(response, `${what}: status not documented`);
    const schema = response.content?.['application/json']?.schema;
    if (!schema) {
      assert.equal(x.text, '', `${what}: a body where none is documented`);
      continue;
    }
    assert.match(x.contentType ?? '', /^application\/json/, what);
    check(schema, JSON.parse(x.text), what);
  }
  for (const [m, p] of ROUTES) assert.ok(seen.has(`${m} ${p}`), `${m} ${p} was not exercised`);
  assert.ok(exchanges.some((x) => x.status === 401) && exchanges.some((x) => x.status === 404) && exchanges.some((x) => x.status === 400));
});
