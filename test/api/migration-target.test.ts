/**
 * What an incremental migration's target really follows: a second migration into a target that
 * one already follows is refused (400 DCS.4099) however the target is named; a target restarted
 * by an operation follows the source again (its writes arrive, sync-stop ends SUCCESS with them);
 * a target re-pointed at another master by hand ends the migration FAILED saying so, instead of
 * reporting that master's writes as the source's. Source addresses are one host:port.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { createRunningInstance } from '../helpers/instance.js';
import { RedisClients } from '../helpers/keyspace.js';

const P = '{p}';
const SRC_PASSWORD = 'Src#Pass1234';
const TARGET_PASSWORD = 'Tgt#Pass1234';
let svc: Service;
let admin: Client;
let source: TestRedis;
let other: TestRedis;
let src: Redis;
let dst: Redis;
let targetId: string;
let targetPort: number;
const clients = new RedisClients();

const show = async (id: string) => {
  const r = await admin.get(`/v2/${P}/migration-task/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
};
const reaches = (id: string, statuses: string[], ms = 60_000) =>
  waitFor(async () => { const m = await show(id); return statuses.includes(m.status) && m; }, ms, `migration ${id} in ${statuses.join('/')}`);

async function startIncremental(name: string, sourcePort: number, password: string | null): Promise<string> {
  const r = await admin.post(`/v2/${P}/migration-task`, {
    task_name: name, migration_type: 'online_migration', migration_method: 'incremental_migration',
    source_instance: { addrs: `127.0.0.1:${sourcePort}`, ...(password ? { password } : {}) }, target_instance: { id: targetId },
  });
  assert.equal(r.status, 200, r.text);
  return r.body.id;
}

const latestError = async (id: string) => {
  const r = await admin.get(`/v2/${P}/migration-task/${id}/logs`, { query: { log_level: 'ERROR' } });
  assert.equal(r.status, 200, r.text);
  return (r.body.migration_logs as { message: string }[]).map((l) => l.message).join('\n');
};

before(async () => {
  svc = await startService({ env: { DCS_MIGRATION_GIVE_UP_MS: '30000', DCS_MIGRATION_RETRY_MS: '1000' } });
  admin = client(svc.url, svc.admin);
  source = await startRedis(SRC_PASSWORD);
  other = await startRedis(null);
  src = clients.open(source.port, SRC_PASSWORD);
  ({ id: targetId, port: targetPort } = await createRunningInstance(admin, 'mig-target', TARGET_PASSWORD));
  dst = clients.open(targetPort, TARGET_PASSWORD);
});

after(async () => {
  clients.closeAll();
  await svc?.stop();
  await source?.stop();
  await other?.stop();
});

test('a second migration into a target that one follows is refused (DCS.4099), by id, by address and when configured; a target re-pointed by hand fails the first', async () => {
  const earlier = (await admin.post(`/v2/${P}/migration-task`, {
    task_name: 'earlier', migration_type: 'online_migration', migration_method: 'full_amount_migration',
    source_instance: { addrs: `127.0.0.1:${other.port}` }, target_instance: { id: targetId },
  })).body.id;
  assert.equal((await reaches(earlier, ['SUCCESS', 'FAILED'])).status, 'SUCCESS');
  const first = await startIncremental('first', source.port, SRC_PASSWORD);
  assert.equal((await reaches(first, ['INCRMIGEATING', 'FAILED'])).status, 'INCRMIGEATING');

  const byId = await admin.post(`/v2/${P}/migration-task`, {
    task_name: 'second', migration_type: 'online_migration', migration_method: 'incremental_migration',
    source_instance: { addrs: `127.0.0.1:${other.port}` }, target_instance: { id: targetId },
  });
  assert.equal(byId.status, 400, byId.text);
  assert.equal(byId.body.error_code, 'DCS.4099');
  assert.match(byId.body.error_msg, new RegExp(first));
  assert.ok(byId.headers.get('x-request-id'));
  const byAddress = await admin.post(`/v2/${P}/migration-task`, {
    task_name: 'third', migration_type: 'online_migration', migration_method: 'full_amount_migration',
    source_instance: { addrs: `127.0.0.1:${other.port}` }, target_instance: { addrs: `localhost:${targetPort}`, password: TARGET_PASSWORD },
  });
  assert.equal(byAddress.body.error_code, 'DCS.4099', byAddress.text);
  const created = await admin.post(`/v2/${P}/migration/instance`, { name: 'fourth', vpc_id: 'v', subnet_id: 's', security_group_id: 'g' });
  const configured = await admin.post(`/v2/${P}/migration/${created.body.instance_id}/task`, {
    migration_method: 'incremental_migration', source_instance: { addrs: `127.0.0.1:${other.port}` }, target_instance: { id: targetId },
  });
  assert.equal(configured.body.error_code, 'DCS.4099', configured.text);
  const list = await admin.get(`/v2/${P}/migration-tasks`);
  assert.deepEqual(list.body.migration_tasks.filter((m: any) => ['second', 'third'].includes(m.task_name)), [], 'a refused create left a task');
  assert.equal((await show(created.body.instance_id)).status, 'RUNNING', 'the refused configure changed the task');
  const restarted = await admin.post(`/v2/${P}/migration-tasks/batch-restart`, { migration_tasks: [earlier] });
  assert.equal(restarted.body.migration_tasks[0].error_code, 'DCS.4099', restarted.text);
  assert.equal((await show(earlier)).status, 'SUCCESS', 'the refused restart changed the task');

  await src.set('still-first', '1');
  await waitFor(async () => (await dst.get('still-first')) === '1', 5000, "the first migration's source write on the target");

  // By hand, behind the service's back: the target follows another Redis.
  await dst.config('SET', 'masterauth', '');
  await dst.replicaof('127.0.0.1', other.port);
  const failed = await reaches(first, ['FAILED', 'SUCCESS', 'TERMINATED'], 20_000);
  assert.equal(failed.status, 'FAILED');
  assert.match(await latestError(first), new RegExp(`now follows 127\\.0\\.0\\.1:${other.port}, not this migration's source`));
  await dst.replicaof('NO', 'ONE');
});

test('a target restarted while it follows follows the source again: later writes arrive, sync-stop ends SUCCESS with them', async () => {
  await src.flushall();
  const id = await startIncremental('restarted-target', source.port, SRC_PASSWORD);
  assert.equal((await reaches(id, ['INCRMIGEATING', 'FAILED'])).status, 'INCRMIGEATING');
  await src.set('before-restart', '1');
  await waitFor(async () => (await dst.get('before-restart')) === '1', 5000, 'a write before the restart on the target');

  const restart = await admin.put(`/v2/${P}/instances/status`, { instances: [targetId], action: 'restart' });
  assert.equal(restart.status, 200, restart.text);
  await waitFor(async () => {
    const r = await admin.get(`/v2/${P}/instances/${targetId}`);
    return r.body.status === 'RUNNING' && r.body.task === null;
  }, 60_000, 'the restart over');

  await src.set('after-restart', '2');
  await waitFor(async () => (await dst.get('after-restart').catch(() => null)) === '2', 20_000, 'a write after the restart on the target');
  assert.equal((await show(id)).status, 'INCRMIGEATING');
  assert.match(await dst.info('replication'), new RegExp(`master_port:${source.port}`));

  await src.set('before-sync-stop', '3');
  const sync = await admin.post(`/v2/${P}/migration-task/${id}/sync-stop`, undefined);
  assert.equal(sync.status, 204, sync.text);
  assert.equal((await show(id)).status, 'SUCCESS');
  assert.equal(await dst.get('before-sync-stop'), '3');
  assert.match(await dst.info('replication'), /role:master/);
});

test('a source given as a list of addresses is refused (400 DCS.4800); a password-protected source without one fails saying authentication is required', async () => {
  const list = await admin.post(`/v2/${P}/migration-task`, {
    task_name: 'list', migration_type: 'online_migration', migration_method: 'full_amount_migration',
    source_instance: { addrs: `127.0.0.1:${other.port},127.0.0.1:${source.port}` }, target_instance: { id: targetId },
  });
  assert.equal(list.status, 400, list.text);
  assert.equal(list.body.error_code, 'DCS.4800');
  assert.match(list.body.error_msg, /source_instance\.addrs.*several addresses/);
  for (const addrs of ['"x":1', '%00:1', `${'"'.repeat(250)}:1`, 'a b:1', 'host:0', '[zz]:1']) {
    const bad = await admin.post(`/v2/${P}/migration-task`, {
      task_name: 'bad-host', migration_type: 'online_migration', migration_method: 'full_amount_migration',
      source_instance: { addrs }, target_instance: { id: targetId },
    });
    assert.equal(bad.body.error_code, 'DCS.4800', `${addrs}: ${bad.text}`);
  }
  const ipv6 = await admin.post(`/v2/${P}/migration-task`, {
    task_name: 'ipv6', migration_type: 'online_migration', migration_method: 'full_amount_migration',
    source_instance: { addrs: `[::1]:${other.port}` }, target_instance: { addrs: `127.0.0.1:${other.port}` },
  });
  assert.equal(ipv6.body.error_code, 'DCS.4800', 'one Redis by two loopback spellings');
  assert.match(ipv6.body.error_msg, /same Redis/);

  const id = (await admin.post(`/v2/${P}/migration-task`, {
    task_name: 'no-password', migration_type: 'online_migration', migration_method: 'full_amount_migration',
    source_instance: { addrs: `127.0.0.1:${source.port}` }, target_instance: { id: targetId },
  })).body.id;
  const failed = await reaches(id, ['FAILED', 'SUCCESS'], 20_000);
  assert.equal(failed.status, 'FAILED');
  const errors = await latestError(id);
  assert.match(errors, /NOAUTH Authentication required/);
  assert.doesNotMatch(errors, /\*\*\*/);
});
