/**
 * How the CLI fails: usage errors exit 2, an unreachable endpoint exits 3, API refusals exit 1
 * with the one-line `DCS.xxxx: message (request id …)` on stderr; secrets are never echoed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startService, type Service } from '../helpers/service.js';
import { freePort } from '../helpers/redis.js';
import { typedClient } from '../helpers/dcs-client.js';
import { API_ERROR_LINE, cli, cliEnv, json } from '../helpers/cli.js';

let svc: Service;
let env: Record<string, string>;

before(async () => {
  svc = await startService();
  env = cliEnv(svc, svc.admin);
});

after(async () => {
  await svc?.stop();
});

test('usage errors exit 2 with a message on stderr and nothing on stdout', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['instances', 'list'], { ...env, DCS_PROJECT_ID: '' }, /no project id/],
    [['instances', 'list'], { ...env, CLOUD_SDK_AK: '', CLOUD_SDK_SK: '' }, /no credentials/],
    [['instances', 'list'], { ...env, CLOUD_SDK_SK: '' }, /access key without a secret key/],
    [['instances', 'list', '--endpoint', 'not a url'], env, /endpoint is not a URL/],
    [['tasks', 'list', '--limit', '5'], env, /missing required argument 'instance_id'/],
    [['tasks', 'list', 'x', '--limit', '0'], env, /'--limit <n>' argument '0' is invalid/],
    [['centre', 'list', '--start-time', 'yesterday'], env, /'--start-time <time>' argument 'yesterday' is invalid/],
    [['centre', 'list', '--no-such-flag'], env, /unknown option '--no-such-flag'/],
    [['token', 'create'], env, /required option '--ttl <seconds>' not specified/],
    [['token', 'create', '--ttl', '5'], env, /an integer from 60 to 604800/],
    [['instances', 'create', '--name', 'abcd', '--capacity', '1'], env, /a password is needed/],
    [['instances', 'create', '--name', 'abcd', '--capacity', '1', '--password', 'Str0ng#Pass1', '--no-password'], env, /--password and --no-password: one or the other/],
    [['instances', 'create', '--name', 'abcd', '--capacity', '1', '--no-password', '--password=Str0ng#Pass1'], env, /--password and --no-password: one or the other/],
    [['instances', 'frobnicate'], env, /unknown command 'frobnicate'/],
    [['tasks'], env, /Usage: dcs-tasks tasks/],
    [['tasks', 'wait', '7c9e6679-7425-40de-944b-e07fc1f90ae7'], env, /is not a task id: 32 lowercase hex characters/],
  ];
  for (const [args, e, message] of cases) {
    const r = await cli(args, e);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
  }
  const help = await cli(['tasks', 'wait', '--help'], env);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--timeout <seconds>/);
});

test('flags win over the environment', async () => {
  const bare = { DCS_ENDPOINT: '', DCS_PROJECT_ID: '', CLOUD_SDK_AK: '', CLOUD_SDK_SK: '', DCS_AUTH_TOKEN: '' };
  const r = await cli(['instances', 'list', '--json', '--endpoint', svc.url, '--project-id', svc.admin.project_id, '--ak', svc.admin.access_key, '--sk', svc.admin.secret_key], bare);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(json(r), { instance_num: 0, instances: [] });
  const other = await cli(['instances', 'list', '--project-id', svc.other.project_id], env);
  assert.equal(other.code, 1);
  assert.match(other.stderr, API_ERROR_LINE('DCS.1004'));
});

test('a wrong secret key: DCS.1001 line, exit 1, and the key is not echoed', async () => {
  const secret = 'ThisSecretMustNeverBePrinted0123456789';
  const r = await cli(['centre', 'list', '--sk', secret], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^DCS\.1001: The signature does not match the request: check the access key, the secret key .*\(request id [0-9a-f]{32}\)\n$/);
  assert.ok(!(r.stdout + r.stderr).includes(secret));
  // An unknown access key gets the very same answer (auth.md §5: the response says nothing about which).
  const unknown = await cli(['centre', 'list', '--ak', 'NOSUCHACCESSKEY00000'], env);
  assert.equal(unknown.code, 1);
  const withoutId = (s: string) => s.replace(/\(request id [0-9a-f]{32}\)/, '');
  assert.equal(withoutId(unknown.stderr), withoutId(r.stderr));
  const badToken = await cli(['centre', 'list', '--token', 'dcs-bogus'], { ...env, CLOUD_SDK_AK: '', CLOUD_SDK_SK: '' });
  assert.equal(badToken.code, 1);
  assert.match(badToken.stderr, API_ERROR_LINE('DCS.1001'));
});

test('API refusals: read-only DCS.3002, malformed id DCS.4070, unknown task DCS.4001 — all exit 1', async () => {
  const api = typedClient(svc, svc.admin);
  const created = await cli(['instances', 'create', '--name', 'cli-errors', '--capacity', '0.125', '--no-password', '--engine-version', '6.0', '--json', '--wait'], env);
  assert.equal(created.code, 0, created.stderr);
  const id = json(created).instances[0].instance_id;
  const shown = await api.getInstance(id);
  assert.deepEqual([shown.status, shown.no_password_access, shown.engine_version], ['RUNNING', 'true', '6.0']);
  const reader = await cli(['instances', 'flush', id], cliEnv(svc, svc.reader));
  assert.equal(reader.code, 1);
  assert.match(reader.stderr, API_ERROR_LINE('DCS.3002'));
  const bad = await cli(['tasks', 'progress', id, 'not-a-task'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^DCS\.4070: Invalid task ID format\. \(request id [0-9a-f]{32}\)$/m);
  const unknown = await cli(['tasks', 'wait', 'f'.repeat(32)], env);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, API_ERROR_LINE('DCS.4001'));
  const show = await cli(['tasks', 'show', 'f'.repeat(32), '--json'], env);
  assert.equal(show.code, 1);
  assert.equal(show.stdout, '');
  await api.deleteInstance(id);
});

test('an endpoint where nothing listens: exit 3, one line naming it', async () => {
  const port = await freePort();
  const r = await cli(['centre', 'list', '--endpoint', `http://127.0.0.1:${port}`], env);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stderr, `dcs-tasks: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n`);
  const anonymous = await cli(['centre', 'list', '--anonymous', '--endpoint', `http://127.0.0.1:${port}`], env);
  assert.equal(anonymous.code, 3);
});

test('--anonymous against a service started with --no-auth: no credentials needed', async (t) => {
  const open = await startService({ args: ['--no-auth'] });
  t.after(() => open.stop());
  const bare = { DCS_ENDPOINT: open.url, DCS_PROJECT_ID: 'any-project', CLOUD_SDK_AK: '', CLOUD_SDK_SK: '', DCS_AUTH_TOKEN: '' };
  const r = await cli(['centre', 'list', '--anonymous', '--json'], bare);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(json(r), { task_count: '0', tasks: [] });
  const without = await cli(['centre', 'list'], bare);
  assert.equal(without.code, 2, 'no credentials and no --anonymous is a usage error');
});

test('an answer of an unexpected shape is an unexpected failure, exit 1, not a usage error', async () => {
  const odd = http.createServer((_q, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"instances":"oops"}'); });
  await new Promise<void>((r) => odd.listen(0, '127.0.0.1', r));
  try {
    const r = await cli(['instances', 'list', '--endpoint', `http://127.0.0.1:${(odd.address() as AddressInfo).port}`], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^dcs-tasks: unexpected error: /);
  } finally {
    odd.close();
  }
});
