/**
 * An instance whose redis-server never answers is CREATEFAILED (automation.md §1.1), and lists
 * show it only when asked with include_failure=true (§3.1, §3.2), whatever else the query filters
 * on; `all_failure` deletes it (§3.3). The redis-server here is a stand-in that reports a version
 * (so the service takes it as installed) and exits at once when started. The CLI's --wait ends
 * on it, and its list shows it when asked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, tempDir, type Service } from '../helpers/service.js';
import { cli, cliEnv, json } from '../helpers/cli.js';

const P = '{p}';
let svc: Service;
let admin: Client;
let failed: string;

before(async () => {
  const bin = path.join(tempDir('dcs-fake-redis-'), 'redis-server');
  fs.writeFileSync(bin, '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Redis server v=7.0.15"; exit 0; fi\nexit 1\n', { mode: 0o755 });
  svc = await startService({ args: ['--redis-server', bin] });
  admin = client(svc.url, svc.admin);
  const r = await admin.post(`/v2/${P}/instances`, { name: 'never-answers', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password: 'Fail#Pass1234' });
  assert.equal(r.status, 200, r.text);
  failed = r.body.instances[0].instance_id;
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${failed}`)).body.status === 'CREATEFAILED', 20_000, 'CREATEFAILED');
});

after(async () => {
  await svc?.stop();
});

test('lists leave a CREATEFAILED instance out unless include_failure=true, a status or id filter included', async () => {
  const ids = async (query: Record<string, string>) => {
    const r = await admin.get(`/v2/${P}/instances`, { query });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.instance_num, r.body.instances.length);
    return r.body.instances.map((i: any) => i.instance_id);
  };
  assert.deepEqual(await ids({}), []);
  assert.deepEqual(await ids({ status: 'CREATEFAILED' }), []);
  assert.deepEqual(await ids({ instance_id: failed }), []);
  assert.deepEqual(await ids({ include_failure: 'true' }), [failed]);
  assert.deepEqual(await ids({ include_failure: 'true', status: 'CREATEFAILED' }), [failed]);
  assert.deepEqual(await ids({ include_failure: 'true', instance_id: failed }), [failed]);
  assert.equal((await admin.get(`/v2/${P}/instances/status`)).body.createfailed_count, 0);
  assert.equal((await admin.get(`/v2/${P}/instances/status`, { query: { include_failure: 'true' } })).body.createfailed_count, 1);
  assert.deepEqual(await ids({ include_failure: 'false', include_delete: 'true' }), []);
  // A boolean that is neither true nor false is the client's mistake, not a quiet false.
  for (const [path, query] of [
    ['instances', { include_failure: 'abc' }], ['instances', { include_delete: 'yes' }], ['instances', { name_equal: '1' }],
    ['instances/status', { include_failure: 'True' }],
  ] as const) {
    const r = await admin.get(`/v2/${P}/${path}`, { query });
    assert.equal(r.status, 400, `${path} ${JSON.stringify(query)}: ${r.text}`);
    assert.equal(r.body.error_code, 'DCS.4800');
    assert.match(r.body.error_msg, new RegExp(`${Object.keys(query)[0]}.*true or false`));
  }
  const bad = await admin.del(`/v2/${P}/instances`, { query: { all_failure: 'abc' } });
  assert.equal(bad.body.error_code, 'DCS.4800', bad.text);
  assert.deepEqual(await ids({ include_failure: 'true' }), [failed], 'a refused batch delete deleted');
});

test('a restart of the service leaves a CREATEFAILED instance CREATEFAILED: nothing is started for it', async () => {
  await svc.stop();
  await svc.restart();
  admin = client(svc.url, svc.admin);
  assert.equal((await admin.get(`/v2/${P}/instances/${failed}`)).body.status, 'CREATEFAILED');
});

test('DELETE …/instances?all_failure=true deletes the CREATEFAILED instance', async () => {
  const r = await admin.del(`/v2/${P}/instances`, { query: { all_failure: 'true' } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.results, [{ instance: failed, result: 'success' }]);
  assert.equal((await admin.get(`/v2/${P}/instances/${failed}`)).status, 404);
});

test('the CLI: instances create --wait ends with exit 4 when the instance is CREATEFAILED; list shows it with --include-failure or --status CREATEFAILED', async () => {
  const env = cliEnv(svc, svc.admin);
  const created = await cli(['instances', 'create', '--name', 'cli-never-answers', '--capacity', '0.125', '--no-password', '--wait'], env, 40_000);
  assert.equal(created.code, 4, `${created.stdout}\n${created.stderr}`);
  assert.match(created.stderr, /^dcs-tasks: instance [0-9a-f-]{36} is CREATEFAILED: it did not start$/m);
  const listed = async (...flags: string[]) => json(await cli(['instances', 'list', '--json', ...flags], env)).instances.map((i: any) => i.name);
  assert.deepEqual(await listed(), []);
  assert.deepEqual(await listed('--include-failure'), ['cli-never-answers']);
  assert.deepEqual(await listed('--status', 'CREATEFAILED'), ['cli-never-answers']);
});
