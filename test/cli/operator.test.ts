/**
 * The CLI as an operator uses it, as the real binary against the real service and real
 * redis-server processes: every operation with --wait (checked in the instance and in Redis),
 * profiles, the deletion audit, usage errors, examples in --help, a closed pipe, the next-page
 * hint, and a progress bar that fits a narrow terminal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import type { DcsTasksClient } from '../../src/client/index.js';
import { CLI, prepareDataDir, startService, tempDir, type Service } from '../helpers/service.js';
import { typedClient } from '../helpers/dcs-client.js';
import { seedFinishedTasks } from '../helpers/seed.js';
import { API_ERROR_LINE, cli, cliEnv, json, transcript } from '../helpers/cli.js';
import { barLine } from '../../src/cli/progress.js';

let svc: Service;
let env: Record<string, string>;
let api: DcsTasksClient;
let id: string;
let configDir: string;
const PASSWORD = 'Ops#Pass12345';
const NEW_PASSWORD = 'Ops#Pass67890';
const SEEDED = 400;

before(async () => {
  const { dataDir, project, database } = prepareDataDir();
  await seedFinishedTasks(database, project, SEEDED); // enough JSON to fill a pipe
  svc = await startService({ dataDir, database });
  configDir = tempDir('dcs-cli-config-');
  // No profile file unless a test writes one: the config lives in a directory of the test's own.
  env = { ...cliEnv(svc, svc.admin), DCS_CONFIG_FILE: path.join(configDir, 'profiles.json'), DCS_PROFILE: '' };
  api = typedClient(svc, svc.admin);
  const created = json(await cli(['instances', 'create', '--name', 'ops-target', '--capacity', '0.125', '--wait', '--json'], { ...env, DCS_INSTANCE_PASSWORD: PASSWORD }));
  id = created.instances[0].instance_id;
});

after(async () => {
  await svc?.stop();
});

async function redisOf(password: string, port?: number): Promise<Redis> {
  const i = await api.getInstance(id);
  return new Redis({ host: '127.0.0.1', port: port ?? i.port, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
}

const STARTED = /^started task ([0-9a-f-]+) \((\w+)\) on instance [0-9a-f-]+; follow it with: dcs-tasks tasks wait \1$/m;
const SUCCEEDED = (name: string) => new RegExp(`^task \\S+ SUCCESS \\(${name}\\)$`, 'm');

test('instances password --wait: the new password works in Redis, the old one does not', async () => {
  const r = await cli(['instances', 'password', id, '--wait'], { ...env, DCS_OLD_INSTANCE_PASSWORD: PASSWORD, DCS_INSTANCE_PASSWORD: NEW_PASSWORD });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, SUCCEEDED('modify'));
  const good = await redisOf(NEW_PASSWORD);
  assert.equal(await good.ping(), 'PONG');
  good.disconnect();
  const bad = await redisOf(PASSWORD);
  await assert.rejects(bad.ping(), /WRONGPASS|invalid username-password/);
  bad.disconnect();
  assert.ok(!r.stdout.includes(NEW_PASSWORD) && !r.stderr.includes(NEW_PASSWORD), 'the password is not echoed');
});

test('instances config set: without --wait it names the task and how to follow it; Redis has the value', async () => {
  const r = await cli(['instances', 'config', 'set', id, 'maxmemory-policy=allkeys-lru', 'timeout=300'], env);
  assert.equal(r.code, 0, r.stderr);
  const m = STARTED.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(m[2], 'modifyConfigs');
  const waited = await cli(['tasks', 'wait', m[1]!, '--instance', id], env);
  assert.equal(waited.code, 0, waited.stderr);
  const redis = await redisOf(NEW_PASSWORD);
  assert.deepEqual(await redis.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'allkeys-lru']);
  assert.deepEqual(await redis.config('GET', 'timeout'), ['timeout', '300']);
  redis.disconnect();
  const list = await cli(['instances', 'config', 'list', id], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^\d+\s+maxmemory-policy\s+allkeys-lru\s/m);
  assert.match(list.stdout, /^\d+\s+timeout\s+300\s/m);
  const bad = await cli(['instances', 'config', 'set', id, 'timeout'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"timeout" is not name=value/);
});

test('instances resize --wait --json: the finished job; capacity and maxmemory changed', async () => {
  const r = await cli(['instances', 'resize', id, '--capacity', '0.25', '--wait', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const job = json(r);
  assert.equal(job.job_type, 'EXTEND');
  assert.equal(job.status, 'SUCCESS');
  assert.equal((await api.getInstance(id)).capacity_minor, '0.25');
  const redis = await redisOf(NEW_PASSWORD);
  assert.deepEqual(await redis.config('GET', 'maxmemory'), ['maxmemory', String(0.25 * 1024 * 1024 * 1024)]);
  redis.disconnect();
});

test('instances replica add, swap, replica remove, port: each --wait, each visible in the instance', async () => {
  const add = await cli(['instances', 'replica', 'add', id, '--wait'], env);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, SUCCEEDED('AddReplica'));
  const withReplica = await api.getInstance(id);
  assert.equal(withReplica.nodes.filter((n) => n.role === 'replica').length, 1);
  const replica = withReplica.nodes.find((n) => n.role === 'replica')!;

  const swap = await cli(['instances', 'swap', id, '--wait'], env);
  assert.equal(swap.code, 0, swap.stderr);
  assert.match(swap.stdout, SUCCEEDED('masterStandbySwapJob'));
  const swapped = await api.getInstance(id);
  assert.equal(swapped.nodes.find((n) => n.name === replica.name)?.role, 'master', 'the standby is the master now');

  const oldMaster = swapped.nodes.find((n) => n.role === 'replica')!;
  const remove = await cli(['instances', 'replica', 'remove', id, oldMaster.name, '--wait'], env);
  assert.equal(remove.code, 0, remove.stderr);
  assert.match(remove.stdout, SUCCEEDED('DelReplica'));
  assert.equal((await api.getInstance(id)).nodes.filter((n) => n.role === 'replica').length, 0);

  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const moved = await cli(['instances', 'port', id, String(port), '--wait'], env);
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(moved.stdout, SUCCEEDED('UpdatePort'));
  assert.equal((await api.getInstance(id)).port, port);
  const redis = await redisOf(NEW_PASSWORD, port);
  assert.equal(await redis.ping(), 'PONG');
  redis.disconnect();
  // The port it is on already: no task started, and none of the earlier ones shown as if it were.
  const tasksBefore = (await api.listTasks(id)).task_count;
  const same = await cli(['instances', 'port', id, String(port), '--wait'], env);
  assert.equal(same.code, 0, same.stderr);
  assert.equal(same.stdout, `instance ${id} is on port ${port} already: nothing to change\n`);
  assert.equal((await api.listTasks(id)).task_count, tasksBefore);

  const badPort = await cli(['instances', 'port', id, '80'], env);
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /argument <port> "80": an integer from 1024 to 65535/);
});

test('an operation refused by the service: the API error line, exit 1', async () => {
  const r = await cli(['instances', 'swap', id], env); // no replica left
  assert.equal(r.code, 1);
  assert.match(r.stderr, API_ERROR_LINE('DCS.4086'));
});

test('audit list: who deleted which task, with the message; the next page is named', async () => {
  const configs = (await api.listTasks(id, { limit: 100 })).tasks.find((t) => t.name === 'modifyConfigs')!;
  const del = await cli(['centre', 'delete', configs.id, '--message', 'config change reviewed'], env);
  assert.equal(del.code, 0, del.stderr);
  await api.deleteCentreTask((await api.listCentreTasks({ limit: 1, offset: 50 })).tasks[0]!.id);
  const list = await cli(['audit', 'list', '--limit', '1'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^DELETED\s+TASK\s+NAME\s+LAST STATUS\s+INSTANCE\s+BY\s+MESSAGE$/m);
  assert.match(list.stdout, /^1-1 of 2 records; next page: dcs-tasks audit list --limit 1 --offset 1$/m);
  const all = json(await cli(['audit', 'list', '--json'], env));
  assert.deepEqual(all, await api.listTaskAudit());
  const record = all.audits.find((a: any) => a.task_id === configs.id)!;
  assert.equal(record.message, 'config change reviewed');
  assert.equal(record.task_name, 'modifyConfigs');
  assert.equal(record.user_name, svc.admin.user_name);
});

test('configure writes a 0600 profile; --profile and DCS_PROFILE select it; flags and environment win', async () => {
  const file = env.DCS_CONFIG_FILE!;
  const answers = [svc.url, svc.admin.project_id, svc.admin.access_key, svc.admin.secret_key].join('\n') + '\n';
  const r = spawnSync(process.execPath, [CLI, 'configure', '--profile', 'lab'], { env: { ...process.env, ...env }, input: answers, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^saved profile "lab" in .+profiles\.json \(mode 0600\)$/m);
  assert.ok(!r.stdout.includes(svc.admin.secret_key) && !r.stderr.includes(svc.admin.secret_key));
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')).lab, {
    endpoint: svc.url, project_id: svc.admin.project_id, access_key: svc.admin.access_key, secret_key: svc.admin.secret_key,
  });

  const bare = { DCS_CONFIG_FILE: file, DCS_ENDPOINT: '', DCS_PROJECT_ID: '', CLOUD_SDK_AK: '', CLOUD_SDK_SK: '', DCS_AUTH_TOKEN: '', DCS_PROFILE: '' };
  const byFlag = await cli(['instances', 'list', '--json', '--profile', 'lab'], bare);
  assert.equal(byFlag.code, 0, byFlag.stderr);
  assert.ok(json(byFlag).instances.some((i: any) => i.instance_id === id));
  const byEnv = await cli(['instances', 'list', '--json'], { ...bare, DCS_PROFILE: 'lab' });
  assert.equal(byEnv.code, 0, byEnv.stderr);
  // The environment wins over the profile: another project's id is refused by the service.
  const envWins = await cli(['instances', 'list'], { ...bare, DCS_PROFILE: 'lab', DCS_PROJECT_ID: svc.other.project_id });
  assert.equal(envWins.code, 1);
  assert.match(envWins.stderr, API_ERROR_LINE('DCS.1004'));
  const flagWins = await cli(['instances', 'list', '--profile', 'lab', '--endpoint', 'http://127.0.0.1:1'], bare);
  assert.equal(flagWins.code, 3, 'the --endpoint flag, not the profile');
  const missing = await cli(['instances', 'list', '--profile', 'nope'], bare);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no profile "nope" in .+: create it with dcs-tasks configure --profile nope/);
  // Enter keeps every value (the secret key too), and the file stays 0600 after a rewrite.
  fs.chmodSync(file, 0o644);
  const again = spawnSync(process.execPath, [CLI, 'configure', '--profile', 'lab'], { env: { ...process.env, ...env }, input: '\n\n\n\n', encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).lab.secret_key, svc.admin.secret_key);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('a broken profiles file stops only the commands that need it, and configure does not overwrite it; the default directory is made 0700', async () => {
  const file = path.join(tempDir('dcs-cli-broken-'), 'profiles.json');
  for (const text of ['{"default": {"endpoint": ', '{"default": {"project_id": ["p"]}}', '[1]']) {
    fs.writeFileSync(file, text, { mode: 0o600 });
    const e = { ...env, DCS_CONFIG_FILE: file };
    const fromEnv = await cli(['instances', 'list', '--json'], e);
    assert.equal(fromEnv.code, 0, `flags and environment need no profile: ${fromEnv.stderr}`);
    const needsIt = await cli(['instances', 'list'], { ...e, DCS_PROJECT_ID: '' });
    assert.equal(needsIt.code, 2, text);
    assert.match(needsIt.stderr, /is not a JSON object of profiles \(each field a string\); fix it, or remove it and run dcs-tasks configure again/);
    const configure = spawnSync(process.execPath, [CLI, 'configure'], { env: { ...process.env, ...e }, input: '\n\n\n\n', encoding: 'utf8' });
    assert.equal(configure.status, 2, configure.stderr);
    assert.equal(fs.readFileSync(file, 'utf8'), text, 'the file is left as it was');
  }
  // Without DCS_CONFIG_FILE: $XDG_CONFIG_HOME/dcs-tasks, tightened to 0700 when it existed wider.
  const xdg = tempDir('dcs-cli-xdg-');
  fs.mkdirSync(path.join(xdg, 'dcs-tasks'), { mode: 0o755 });
  fs.chmodSync(path.join(xdg, 'dcs-tasks'), 0o755);
  const answers = [svc.url, svc.admin.project_id, svc.admin.access_key, svc.admin.secret_key].join('\n') + '\n';
  const r = spawnSync(process.execPath, [CLI, 'configure'], { env: { ...process.env, ...env, DCS_CONFIG_FILE: '', XDG_CONFIG_HOME: xdg }, input: answers, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.statSync(path.join(xdg, 'dcs-tasks')).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(xdg, 'dcs-tasks', 'profiles.json')).mode & 0o777, 0o600);
});

test('usage errors exit 2: bare dcs-tasks, an unknown command, impossible times, an end before the start', async () => {
  const cases: [string[], RegExp][] = [
    [[], /Usage: dcs-tasks/],
    [['task', 'list'], /unknown command 'task'/],
    [['centre', 'list', '--start-time', '20260231000000'], /20260231000000 is not a real time: yyyyMMddHHmmss in UTC/],
    [['centre', 'list', '--start-time', '2026-11-25T24:00:00Z'], /is not a real time/],
    [['centre', 'list', '--start-time', '20261125000000', '--end-time', '2026-11-24'], /--end-time \(20261124000000\) is before --start-time \(20261125000000\)/],
    [['audit', 'list', '--limit', '0'], /an integer from 1 to 1000/],
    [['centre', 'list', '--offset', '-1'], /a whole number of at least 0 is expected/],
    [['tasks', 'wait', 'x', '--interval', '5'], /a whole number of at least 50 is expected/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args, env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
    assert.doesNotMatch(r.stderr, /\^|\\d|9007199254740991/, 'no regular expression or MAX_SAFE_INTEGER in a message');
  }
});

test('every command and group has an example in --help; serve --help shows its defaults', async () => {
  const commands = [
    ['tasks'], ['tasks', 'list'], ['tasks', 'show'], ['tasks', 'progress'], ['tasks', 'delete'], ['tasks', 'wait'],
    ['centre'], ['centre', 'list'], ['centre', 'delete'], ['audit'], ['audit', 'list'], ['token'], ['token', 'create'],
    ['instances'], ['instances', 'list'], ['instances', 'create'], ['instances', 'show'], ['instances', 'delete'],
    ['instances', 'restart'], ['instances', 'flush'], ['instances', 'password'], ['instances', 'config'], ['instances', 'config', 'set'], ['instances', 'config', 'list'],
    ['instances', 'resize'], ['instances', 'replica'], ['instances', 'replica', 'add'], ['instances', 'replica', 'remove'],
    ['instances', 'swap'], ['instances', 'port'], ['configure'], ['serve'], [],
  ];
  for (const c of commands) {
    const r = await cli([...c, '--help'], env);
    assert.equal(r.code, 0, c.join(' '));
    assert.match(r.stdout, /\nExample:\n {2}\$ .*dcs-tasks /, `${c.join(' ')} --help has an example`);
  }
  const serve = await cli(['serve', '--help'], env);
  const text = serve.stdout.replace(/\s+/g, ' '); // commander wraps long lines
  for (const d of ['default 127.0.0.1', 'default 8080', 'default ./.dcs-tasks', 'default info', 'DCS_STEP_DELAY_MS']) assert.ok(text.includes(d), d);
});

test('a reader that closes the pipe early: exit 0, no EPIPE trace', async () => {
  const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} centre list --json --limit 1000 | head -1; echo "status \${PIPESTATUS[0]}" >&2`;
  const r = spawnSync('bash', ['-c', cmd], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.stdout, '{\n');
  assert.doesNotMatch(r.stderr, /EPIPE|Error/);
  assert.match(r.stderr, /^status 0$/m);
});

test('tasks list: the next-page hint repeats the window', async () => {
  const r = await cli(['centre', 'list', '--limit', '5', '--start-time', '2000-01-01'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^1-5 of \d+ tasks; next page: dcs-tasks centre list --limit 5 --start-time 20000101000000 --offset 5$/m);
});

test('the progress bar fits the terminal: no redraw longer than the width', async (t) => {
  for (const cols of [20, 40, 80, 200]) {
    const line = barLine(42, 'EXECUTING  step 2/3 Restart every redis-server of the instance  ~12s left', cols);
    assert.ok(line.length <= cols - 1, `${cols} columns: ${line.length} characters`);
    assert.match(line, /42%/);
  }
  assert.match(barLine(100, 'SUCCESS', 80), /^\[#{30}\] 100%  SUCCESS$/);
  if (spawnSync('script', ['--version']).status !== 0) return t.skip('no script(1) to provide a terminal');
  const task = (await api.listTasks(id)).tasks.find((x) => x.status === 'SUCCESS')!;
  const cmd = `stty cols 40; ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} tasks wait ${task.id} --instance ${id}`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const redraws = r.stdout.split('\r\x1b[K').slice(1).map((s) => s.split(/\r?\n/)[0]!);
  assert.ok(redraws.length > 0, r.stdout);
  for (const d of redraws) assert.ok(d.length <= 39, `redraw of ${d.length} characters at 40 columns: ${JSON.stringify(d)}`);
});

test('no secret key was printed by any run', () => {
  for (const text of transcript) assert.ok(!text.includes(svc.admin.secret_key), 'the secret key was printed');
});
