/**
 * Secrets never leak: instance passwords and secret keys appear in no response, no log line,
 * no task params, and in the database only in the one column operations need.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { query } from '../helpers/db.js';

let svc: Service;
let admin: Client;
const FIRST = 'Leak#Check#One1';
const SECOND = 'Leak#Check#Two2';

before(async () => {
  svc = await startService({ args: ['--log-level', 'debug'] });
  admin = client(svc.url, svc.admin);
});

after(async () => {
  await svc?.stop();
});

test('passwords and secret keys stay out of responses, logs, task params and other columns', async () => {
  const created = await admin.post('/v2/{p}/instances', { name: 'secret-keeper', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: FIRST });
  assert.equal(created.status, 200, created.text);
  const id = created.body.instances[0].instance_id;
  await waitFor(async () => (await admin.get(`/v2/{p}/instances/${id}`)).body.status === 'RUNNING');
  const bodies: string[] = [created.text];
  bodies.push((await admin.put(`/v2/{p}/instances/${id}/password`, { old_password: FIRST, new_password: SECOND })).text);
  await waitFor(async () => (await admin.get(`/v2/{p}/instances/${id}/tasks`)).body.tasks[0]?.status === 'SUCCESS');
  // A refused change echoes nothing of what was sent.
  bodies.push((await admin.put(`/v2/{p}/instances/${id}/password`, { old_password: 'Wrong#Old#123', new_password: 'Third#Pass#333' })).text);
  bodies.push((await admin.put(`/v2/{p}/instances/${id}/password`, { old_password: SECOND, new_password: 'weak' })).text);
  bodies.push((await admin.get(`/v2/{p}/instances/${id}/tasks`)).text);
  bodies.push((await admin.get('/v2/{p}/tasks')).text);
  bodies.push((await admin.get(`/v2/{p}/instances/${id}`)).text);
  bodies.push((await admin.get('/v2/{p}/instances')).text);
  const t = JSON.parse(bodies[4]).tasks[0];
  bodies.push((await admin.get(`/v2/{p}/instances/${id}/tasks/${t.id}/progress`)).text);
  bodies.push((await admin.get(`/v2/{p}/jobs/${t.id}`)).text);
  bodies.push((await client(svc.url, null).get('/openapi.json')).text);
  bodies.push((await client(svc.url, null).get('/metrics')).text);
  const secrets = [FIRST, SECOND, 'Wrong#Old#123', 'Third#Pass#333', svc.admin.secret_key, svc.reader.secret_key];
  for (const s of secrets) {
    for (const b of bodies) assert.ok(!b.includes(s), `a response contains ${s}`);
    assert.ok(!svc.output().includes(s), `the log contains ${s}`);
  }
  assert.equal(t.name, 'modify');
  assert.ok(!t.params.includes('Leak'), 'task params hold no password');
  await svc.stop();
  // In the database only the instances.password column may hold the password in force.
  const [row] = await query(svc.database, 'SELECT password, pending_password FROM instances WHERE id = $1', [id]);
  assert.equal(row.password, SECOND);
  assert.equal(row.pending_password, null);
  for (const table of ['tasks', 'task_steps', 'task_audit', 'credential_use', 'tokens']) {
    const dump = JSON.stringify(await query(svc.database, `SELECT * FROM ${table}`));
    for (const s of secrets) assert.ok(!dump.includes(s), `${table} holds ${s}`);
  }
  // The instance's redis.conf holds the password, readable by the owner only.
  const conf = path.join(svc.dataDir, 'instances', id, 'node-0', 'redis.conf');
  assert.equal(fs.statSync(conf).mode & 0o777, 0o600);
  await svc.restart();
});
