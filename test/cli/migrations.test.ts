/**
 * `dcs-tasks migrations …` against a running service and two real redis-servers: create --wait
 * (the source password from the environment, never printed), list, show, stats, logs, stop of a
 * finished one refused with the API error line, restart, delete; unknown ids exit 1 with DCS.4133.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startService, type Service } from '../helpers/service.js';
import { waitFor } from '../helpers/client.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { API_ERROR_LINE, cli, cliEnv, json, transcript } from '../helpers/cli.js';

const SRC_PASSWORD = 'CliSrc#Pass123';
let svc: Service;
let env: Record<string, string>;
let source: TestRedis;
let target: TestRedis;

before(async () => {
  svc = await startService();
  env = cliEnv(svc, svc.admin);
  source = await startRedis(SRC_PASSWORD);
  target = await startRedis();
  const c = source.client();
  for (let i = 0; i < 50; i++) await c.set(`cli:${i}`, String(i));
  c.disconnect();
});

after(async () => {
  await svc?.stop();
  await source?.stop();
  await target?.stop();
});

test('migrations create --wait, list, show, stats, logs, stop (refused when finished), restart, delete', async () => {
  const created = await cli(['migrations', 'create', '--name', 'cli-copy', '--source-addrs', `127.0.0.1:${source.port}`,
    '--target-addrs', `127.0.0.1:${target.port}`, '--wait'], { ...env, DCS_MIGRATION_SOURCE_PASSWORD: SRC_PASSWORD });
  assert.equal(created.code, 0, created.stderr);
  const m = /^migration ([0-9a-f]{32}) SUCCESS$/m.exec(created.stdout);
  assert.ok(m, created.stdout);
  const id = m[1]!;
  const t = target.client();
  assert.equal(await t.dbsize(), 50);
  t.disconnect();

  const list = await cli(['migrations', 'list', '--name', 'cli-'], env);
  assert.match(list.stdout, new RegExp(`${id}\\s+cli-copy\\s+SUCCESS`));
  assert.equal(json(await cli(['migrations', 'show', id, '--json'], env)).status, 'SUCCESS');
  assert.match((await cli(['migrations', 'stats', id], env)).stdout, /progress:\s+100 %/);
  assert.match((await cli(['migrations', 'logs', id], env)).stdout, /Full copy finished: 50 keys copied/);

  const stop = await cli(['migrations', 'stop', id], env);
  assert.equal(stop.code, 1);
  assert.match(stop.stdout, /failed\s+DCS\.4026/);
  assert.match(stop.stderr, new RegExp(`^dcs-tasks: stop was refused for migration ${id}: DCS\\.4026: `, 'm'));
  const restart = await cli(['migrations', 'restart', id], env);
  assert.equal(restart.code, 0, restart.stdout + restart.stderr);
  await waitFor(async () => json(await cli(['migrations', 'show', id, '--json'], env)).status === 'SUCCESS', 30_000, 'the restarted copy');
  const del = await cli(['migrations', 'delete', id], env);
  assert.equal(del.code, 0, del.stderr);
  const gone = await cli(['migrations', 'show', id], env);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, API_ERROR_LINE('DCS.4133'));
  assert.ok(!transcript.join('\n').includes(SRC_PASSWORD), 'the source password was printed');
});
