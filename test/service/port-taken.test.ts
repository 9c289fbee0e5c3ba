/**
 * interface.md: a bad configuration — the port taken — exits non-zero with one clear line and
 * damages nothing. A start that finds its port taken must find it before it changes anything:
 * no first credential created (and printed to a run that never serves), no managed redis-server
 * started again, no interrupted task resumed (enough failed starts would fail it for good).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { client, waitFor } from '../helpers/client.js';
import { createRunningInstance } from '../helpers/instance.js';
import { onRedis } from '../helpers/redis.js';
import { runCli, startService, tempDir, type Service } from '../helpers/service.js';

let svc: Service | undefined;
const blockers: net.Server[] = [];
/** The pid of the redis-server on `port`, or 'down'. */
const redisPid = (port: number, password: string) =>
  onRedis(port, password, async (c) => /process_id:(\d+)/.exec(await c.info('server'))![1]).catch(() => 'down');

after(async () => {
  await svc?.stop();
  for (const b of blockers) b.close();
});

async function takenPort(): Promise<number> {
  const blocker = net.createServer();
  blockers.push(blocker);
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  return (blocker.address() as net.AddressInfo).port;
}

test('a first start on a taken port creates no credential and prints one line', async () => {
  const data = tempDir();
  const port = await takenPort();
  const r = await runCli(['serve', '--port', String(port), '--data', data]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), `dcs-tasks: port ${port} on 127.0.0.1 is already in use`);
  assert.doesNotMatch(r.stdout + r.stderr, /access_key=|secret_key=/);
  assert.equal(fs.existsSync(path.join(data, 'credentials.json')), false, 'no credential file written by a start that never served');
});

test('starts on a taken port leave the managed Redis running and the interrupted task resumable', async () => {
  // Every step takes a minute: the restart task is EXECUTING when the service is killed.
  svc = await startService({ env: { DCS_STEP_DELAY_MS: '60000' } });
  const admin = client(svc.url, svc.admin);
  const password = 'Port-taken-9';
  const { id, port: redisPort } = await createRunningInstance(admin, 'port-taken', password);
  const r = await admin.put('/v2/{p}/instances/status', { instances: [id], action: 'restart' });
  assert.equal(r.status, 200, r.text);
  const task = await waitFor(async () => {
    const list = await admin.get(`/v2/{p}/instances/${id}/tasks`);
    return list.body.tasks.find((t: any) => t.name === 'restartInstance' && t.status === 'EXECUTING');
  }, 20_000, 'the restart EXECUTING');
  await svc.kill9();
  const pidBefore = await redisPid(redisPort, password);
  assert.notEqual(pidBefore, 'down');

  const port = await takenPort();
  const args = ['serve', '--port', String(port), '--data', svc.dataDir, '--database', svc.database, '--credentials', path.join(svc.dataDir, 'test-credentials.json')];
  // More failed starts than the engine's five attempts of a task.
  for (let i = 0; i < 6; i++) {
    const bad = await runCli(args);
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.equal(bad.stderr.trim(), `dcs-tasks: port ${port} on 127.0.0.1 is already in use`);
  }
  assert.equal(await redisPid(redisPort, password), pidBefore, 'the instance\'s redis-server was not replaced by a start that exited');

  await svc.restart();
  const resumed = client(svc.url, svc.admin);
  const job = await resumed.get(`/v2/{p}/jobs/${task.id}`);
  assert.equal(job.status, 200, job.text);
  assert.equal(job.body.status, 'RUNNING', `the task was not failed by the starts that exited: ${job.text}`);
});
