/**
 * Replays the Terraform provider's DCS flows over HTTP, as automation.md cites them, signing as
 * its Go SDK does (auth.md: accept, content-type, user-agent and x-sdk-date signed, not host;
 * X-Project-Id added after signing). Every answer is checked the way the provider reads it, and
 * anything it would not accept fails the test. Polls are faster than the provider's 10 s; what
 * is polled and what ends a wait are the provider's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { signRequest } from '../../src/auth/signature.js';
import { startService, type Service, type TestCredential } from '../helpers/service.js';
import { freePort, onRedis } from '../helpers/redis.js';

let svc: Service;
let cred: TestCredential;
let id: string;
const PASSWORD = 'Tf#Provider123';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const POLL_MS = 200;

interface Answer { status: number; body: any }

/** golangsdk's request: Go SDK headers signed, X-Project-Id added after signing. */
async function tf(method: string, path: string, body?: unknown, query: Record<string, string> = {}): Promise<Answer> {
  const p = path.replace('{p}', cred.project_id);
  const qs = new URLSearchParams(query).toString();
  const url = `${p}${qs ? `?${qs}` : ''}`;
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'application/json', 'User-Agent': 'huaweicloud-usdk-go/3.0' };
  const signed = signRequest({ accessKey: cred.access_key, secretKey: cred.secret_key, method, url, headers, body: text });
  const res = await fetch(`${svc.url}${url}`, { method, headers: { ...headers, ...signed, 'X-Project-Id': cred.project_id }, body: text || undefined });
  const raw = await res.text();
  assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
  return { status: res.status, body: raw ? JSON.parse(raw) : null };
}

/** golangsdk's defaultOkCodes per method; anything else is an error the provider reports. */
function ok(a: Answer, what: string): any {
  assert.ok(a.status >= 200 && a.status < 300, `${what}: HTTP ${a.status} ${JSON.stringify(a.body)}`);
  return a.body;
}

/** common.go refreshDcsInstanceState, with the type assertions resourceDcsInstancesRead makes. */
async function instanceState(): Promise<'DELETED' | 'RUNNING' | 'PENDING'> {
  const a = await tf('GET', `/v2/{p}/instances/${id}`);
  if (a.status === 404) return 'DELETED';
  const s = ok(a, 'show instance');
  assert.equal(typeof s.status, 'string', 'status .(string)');
  assert.equal(typeof s.capacity, 'number', 'capacity .(float64)');
  assert.equal(typeof s.capacity_minor, 'string', 'capacity_minor .(string)');
  assert.equal(typeof s.charging_mode, 'number', 'charging_mode .(float64)');
  assert.equal(typeof s.transparent_client_ip_enable, 'boolean', 'transparent_client_ip_enable .(bool)');
  assert.ok(!['CREATEFAILED', 'ERROR', 'FROZEN'].includes(s.status), `instance status ${s.status}: the apply stops`);
  assert.ok('task' in s, 'task must be present');
  if (s.task !== null) {
    assert.ok(typeof s.task === 'object' && s.task.id && s.task.name, `task must be null or a task, got ${JSON.stringify(s.task)}`);
    return 'PENDING';
  }
  return s.status === 'RUNNING' ? 'RUNNING' : 'PENDING';
}

/** waitForDcsInstanceRunning: RUNNING on two polls in a row. */
async function waitRunning(timeoutMs = 90_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let inRow = 0;
  while (Date.now() < end) {
    inRow = (await instanceState()) === 'RUNNING' ? inRow + 1 : 0;
    if (inRow === 2) return;
    await sleep(POLL_MS);
  }
  assert.fail('the instance never showed RUNNING twice in a row');
}

/** checkDcsInstanceJobFinish: SUCCESS ends it, FAIL fails the apply, an HTTP error fails at once. */
async function waitJob(jobId: string, type: string): Promise<void> {
  assert.match(jobId ?? '', /^[0-9a-f]{32}$/, 'the answer must carry job_id');
  for (const end = Date.now() + 90_000; Date.now() < end; await sleep(POLL_MS)) {
    const j = ok(await tf('GET', `/v2/{p}/jobs/${jobId}`), 'job');
    assert.equal(j.job_type, type);
    assert.notEqual(j.status, 'FAIL', `job failed: ${j.fail_reason}`);
    if (j.status === 'SUCCESS') return;
  }
  assert.fail(`job ${jobId} never finished`);
}

/** common.go operateErrorCode: the busy codes handleOperationError retries on. */
const BUSY = ['DCS.4026', 'DCS.4049', 'DCS.4111', 'DCS.4113', 'DCS.4114', 'DCS.4115', 'DCS.4116', 'DCS.4117', 'DCS.4118', 'DCS.4120',
  'DCS.4121', 'DCS.4096', 'DCS.4097', 'DCS.4231', 'DCS.4975', 'CBC.99003651'];

/**
 * updateDcsInstanceField / deleteDcsInstance: a 400 with a busy code → wait until ready, send again.
 * The instance is shown before every send: a busy answer after show-instance said ready (and nothing
 * else started a task in between) is what would make the provider resend for ever. Reading it after
 * the answer instead would fail whenever the running task happens to end between the two requests.
 */
async function withRetry(what: string, send: () => Promise<Answer>): Promise<{ answer: Answer; retries: number }> {
  for (let retries = 0; retries < 100; retries++) {
    const shownBefore = await instanceState();
    const a = await send();
    if (a.status === 400 && BUSY.includes(a.body?.error_code)) {
      assert.notEqual(shownBefore, 'RUNNING', `${what}: ${a.body.error_code} though show-instance said ready just before (the provider would resend for ever)`);
      await sleep(POLL_MS);
      continue;
    }
    ok(a, what);
    return { answer: a, retries };
  }
  return assert.fail(`${what}: still busy after 100 tries`);
}

const redis = <T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> => onRedis(port, PASSWORD, fn);

before(async () => {
  svc = await startService({ env: { DCS_STEP_DELAY_MS: '300' } });
  cred = svc.admin;
});

after(async () => {
  await svc?.stop();
});

test('the provider\'s dcs_instance lifecycle, switchover, background tasks and ACL account', async () => {
  // resourceDcsInstancesCreate, then waitForDcsInstanceRunning
  const created = ok(await tf('POST', '/v2/{p}/instances', {
    name: 'tf-replay', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: PASSWORD, vpc_id: 'vpc-tf', subnet_id: 'subnet-tf',
  }), 'create');
  id = created.instances[0].instance_id;
  await waitRunning();
  // every read of the resource reads the parameters
  const params = ok(await tf('GET', `/v2/{p}/instances/${id}/configs`), 'configs');
  assert.ok(params.redis_config.every((c: any) => typeof c.need_restart === 'boolean' && typeof c.param_id === 'string'));

  // updateParameters: async-configs, then the job
  const cfg = (await withRetry('async-configs', () => tf('PUT', `/v2/{p}/instances/${id}/async-configs`, {
    redis_config: [{ param_id: '1', param_name: 'timeout', param_value: '120' }],
  }))).answer.body;
  await waitJob(cfg.job_id, 'modifyConfigs');
  await waitRunning();
  let port = ok(await tf('GET', `/v2/{p}/instances/${id}`), 'show').port;
  assert.deepEqual(await redis(port, (r) => r.config('GET', 'timeout')), ['timeout', '120']);

  // a standby for the switchover (the provider changes the flavor; here the replica route)
  await withRetry('add replica', () => tf('POST', `/v2/{p}/instances/${id}/resize`, { change_type: 'createReplication', new_capacity: 0.125 }));
  await waitRunning();
  // resourceDcsMasterStandbySwitchCreate
  const sw = (await withRetry('async-swap', () => tf('PUT', `/v2/{p}/instances/${id}/async-swap`))).answer.body;
  await waitJob(sw.job_id, 'masterStandbySwapJob');
  await waitRunning();
  const afterSwap = ok(await tf('GET', `/v2/{p}/instances/${id}`), 'show');
  assert.match(await redis(afterSwap.port, (r) => r.info('replication')), /role:master/);

  // updateDcsInstanceField: port, then wait
  const newPort = await freePort();
  await withRetry('port', () => tf('PUT', `/v2/{p}/instances/${id}`, { port: newPort }));
  await waitRunning();
  port = ok(await tf('GET', `/v2/{p}/instances/${id}`), 'show').port;
  assert.equal(port, newPort);
  assert.equal(await redis(newPort, (r) => r.ping()), 'PONG');

  // dataSourceDcsBackgroundTasksRead: limit=10, offset += len(tasks), until empty
  const seen: any[] = [];
  for (let offset = 0; ; ) {
    const page = ok(await tf('GET', `/v2/{p}/instances/${id}/tasks`, undefined, { limit: '10', offset: String(offset) }), 'tasks page');
    assert.deepEqual(Object.keys(page).filter((k) => Array.isArray(page[k])), ['tasks'], 'one top-level array');
    if (page.tasks.length === 0) break;
    seen.push(...page.tasks);
    offset += page.tasks.length;
    assert.ok(seen.length < 1000, 'the walk must end');
  }
  assert.deepEqual(new Set(seen.map((t) => t.name)), new Set(['modifyConfigs', 'AddReplica', 'masterStandbySwapJob', 'UpdatePort']));
  assert.equal(new Set(seen.map((t) => t.id)).size, seen.length, 'no task twice across pages');

  // resourceDcsBackgroundTaskDelete
  const doomed = seen.find((t) => t.name === 'modifyConfigs');
  assert.deepEqual(ok(await tf('DELETE', `/v2/{p}/instances/${id}/tasks/${doomed.id}`), 'delete task'), { message: '' });

  // resource_huaweicloud_dcs_account: create, then accountStatusRefreshFunc until AVAILABLE
  await withRetry('create account', () => tf('POST', `/v2/{p}/instances/${id}/accounts`, {
    account_name: 'tfuser', account_role: 'read', account_password: 'Tf#Account123', description: 'made by terraform',
  }));
  for (let n = 0; ; n++) {
    const acc = ok(await tf('GET', `/v2/{p}/instances/${id}/accounts`), 'accounts').accounts.find((a: any) => a.account_name === 'tfuser');
    assert.ok(acc, 'the account must be listed once create returns');
    assert.ok(['CREATING', 'AVAILABLE'].includes(acc.status), `account status ${acc.status}`);
    if (acc.status === 'AVAILABLE') break;
    assert.ok(n < 300, 'account never AVAILABLE');
    await sleep(POLL_MS);
  }
  assert.ok((await redis(port, (r) => r.call('ACL', 'USERS')) as string[]).includes('tfuser'));
  const account = ok(await tf('GET', `/v2/{p}/instances/${id}/accounts`), 'accounts').accounts.find((a: any) => a.account_name === 'tfuser');
  // updateDescription: OkCodes [204] only — a 200 fails the apply; then UPDATING → AVAILABLE
  const { answer: described } = await withRetry('update account description', () => tf('PUT', `/v2/{p}/instances/${id}/accounts/${account.account_id}`, { description: 'changed by terraform' }));
  assert.equal(described.status, 204, 'updateDescription accepts only 204');
  for (let n = 0; ; n++) {
    const acc = ok(await tf('GET', `/v2/{p}/instances/${id}/accounts`), 'accounts').accounts.find((a: any) => a.account_name === 'tfuser');
    assert.ok(['UPDATING', 'AVAILABLE'].includes(acc.status), `account status ${acc.status}`);
    if (acc.status === 'AVAILABLE') {
      assert.equal(acc.description, 'changed by terraform');
      break;
    }
    assert.ok(n < 300, 'account never AVAILABLE after the description change');
    await sleep(POLL_MS);
  }
  // delete: accountTaskStatusRefreshFunc(…, "DeleteAcl") on page 1 of the task list
  await withRetry('delete account', () => tf('DELETE', `/v2/{p}/instances/${id}/accounts/${account.account_id}`));
  for (let n = 0; ; n++) {
    const tasks = ok(await tf('GET', `/v2/{p}/instances/${id}/tasks`, undefined, { limit: '10', offset: '0' }), 'tasks').tasks;
    const del = tasks.find((t: any) => t.name === 'DeleteAcl');
    assert.ok(del, 'the DeleteAcl task must be on page 1');
    assert.ok(['EXECUTING', 'SUCCESS'].includes(del.status), `DeleteAcl ${del.status}`);
    if (del.status === 'SUCCESS') break;
    assert.ok(n < 300, 'DeleteAcl never finished');
    await sleep(POLL_MS);
  }
  const left = ok(await tf('GET', `/v2/{p}/instances/${id}/accounts`), 'accounts').accounts;
  assert.equal(left.some((a: any) => a.account_name === 'tfuser'), false);
  assert.equal((await redis(port, (r) => r.call('ACL', 'USERS')) as string[]).includes('tfuser'), false);

  // terraform destroy while a task runs: deleteDcsInstance retries on the busy code until it succeeds
  ok(await tf('PUT', '/v2/{p}/instances/status', { instances: [id], action: 'restart' }), 'restart');
  const { retries } = await withRetry('delete instance', () => tf('DELETE', `/v2/{p}/instances/${id}`));
  assert.ok(retries > 0, 'the delete must have met the running restart at least once');
  for (let n = 0; (await instanceState()) !== 'DELETED'; n++) {
    assert.ok(n < 300, 'the instance never disappeared');
    await sleep(POLL_MS);
  }
  const gone = await tf('GET', `/v2/{p}/instances/${id}`);
  assert.equal(gone.body.error_code, 'DCS.3022');
});
