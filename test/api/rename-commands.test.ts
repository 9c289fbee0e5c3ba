/**
 * PUT …/instances/{id} `rename_commands` (automation.md §3.5, the SDK's RenameCommandResp), against
 * a real managed redis-server: a change is a restartInstance task, after which the old name is
 * refused and the new one works, also after another restart; bad bodies are 400 and change nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { attachRunningRedis, createRunningInstance } from '../helpers/instance.js';
import { onRedis, startRedis, type TestRedis } from '../helpers/redis.js';

let svc: Service;
let admin: Client;
let id: string;
let port: number;
let attached: TestRedis;
const PASSWORD = 'Rename#Pass123';
const P = '{p}';

const tasks = async (x = id) => (await admin.get(`/v2/${P}/instances/${x}/tasks`, { query: { limit: '100' } })).body.tasks as any[];
const onInstance = <T>(fn: (r: Redis) => Promise<T>) => onRedis(port, PASSWORD, fn);
const unknownCommand = (p: Promise<unknown>) => assert.rejects(p, /unknown command/i);
async function finished(taskId: string) {
  return waitFor(async () => {
    const t = (await tasks()).find((x) => x.id === taskId);
    return t && ['SUCCESS', 'FAILED'].includes(t.status) && t;
  }, 60_000, `task ${taskId}`);
}
/** The one task the request started (none was running before it). */
async function startedTask(before: number) {
  const all = await tasks();
  assert.equal(all.length, before + 1, JSON.stringify(all));
  return all[0];
}

before(async () => {
  svc = await startService();
  admin = client(svc.url, svc.admin);
  ({ id, port } = await createRunningInstance(admin, 'rename', PASSWORD));
  attached = await startRedis();
});

after(async () => {
  await svc?.stop();
  await attached?.stop();
});

test('bad rename_commands → 400 DCS.4800 naming the field; no task, KEYS unchanged', async () => {
  await onInstance((r) => r.set('k1', 'v'));
  const bad: [unknown, string][] = [
    ['garbage', 'rename_commands'],
    [['keys'], 'rename_commands'],
    [{ get: 'getgetget' }, 'rename_commands.get'],
    [{ KEYS: 'keys2' }, 'rename_commands.KEYS'],
    [{ keys: 'k2' }, 'rename_commands.keys'],
    [{ keys: '2keys' }, 'rename_commands.keys'],
    [{ keys: 'keys two' }, 'rename_commands.keys'],
    [{ keys: 'k'.repeat(65) }, 'rename_commands.keys'],
    [{ keys: 123 }, 'rename_commands.keys'],
    [{ keys: null }, 'rename_commands.keys'],
    [{ keys: 'SCAN' }, 'rename_commands.keys'],
    [{ keys: 'hset' }, 'rename_commands.keys'],
    [{ keys: 'abcd', flushdb: 'ABCD' }, 'rename_commands.flushdb'],
  ];
  for (const [value, field] of bad) {
    const r = await admin.put(`/v2/${P}/instances/${id}`, { rename_commands: value, description: 'not applied' });
    assert.equal(r.status, 400, `${JSON.stringify(value)}: ${r.text}`);
    assert.equal(r.body.error_code, 'DCS.4800');
    assert.ok(r.body.error_msg.includes(`parameter ${field}:`), `${JSON.stringify(value)}: ${r.body.error_msg}`);
  }
  assert.deepEqual(await tasks(), []);
  assert.equal((await admin.get(`/v2/${P}/instances/${id}`)).body.description, '');
  assert.deepEqual(await onInstance((r) => r.keys('*')), ['k1']);
});

test('rename_commands on an attached Redis → 400, its KEYS still works', async () => {
  const other = await attachRunningRedis(admin, 'rename-attached', attached.url);
  const r = await admin.put(`/v2/${P}/instances/${other}`, { rename_commands: { keys: 'keys2' } });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error_code, 'DCS.4800');
  assert.match(r.body.error_msg, /rename_commands/);
  assert.deepEqual(await tasks(other), []);
  assert.ok(Array.isArray(await onRedis(attached.port, null, (x) => x.keys('*'))));
});

test('a change is a restartInstance task; then the old name is refused and the new one works, also after another restart', async () => {
  const before = (await tasks()).length;
  const r = await admin.put(`/v2/${P}/instances/${id}`, { rename_commands: { keys: 'keys2', flushall: 'Wipe-All_1' } });
  assert.equal(r.status, 204, r.text);
  const t = await startedTask(before);
  assert.equal(t.name, 'restartInstance');
  assert.deepEqual(t.details, { rename_commands: ['keys', 'flushall'] });
  assert.ok(!t.params.includes('keys2') && !t.params.includes('Wipe-All_1'), t.params);
  assert.equal((await finished(t.id)).status, 'SUCCESS');

  const check = async () => {
    await unknownCommand(onInstance((x) => x.keys('*')));
    await unknownCommand(onInstance((x) => x.flushall()));
    assert.deepEqual(await onInstance((x) => x.call('keys2', '*')), ['k1']);
    assert.equal(await onInstance((x) => x.call('COMMAND', 'INFO', 'wipe-all_1')).then((i: any) => i[0][0]), 'flushall');
  };
  await check();

  // The same set again changes nothing: no task.
  const same = await admin.put(`/v2/${P}/instances/${id}`, { rename_commands: { keys: 'KEYS2', flushall: 'wipe-all_1' } });
  assert.equal(same.status, 204, same.text);
  assert.equal((await tasks()).length, before + 1);

  // A plain restart starts redis-server again with the renames.
  const pidBefore = await onInstance((x) => x.info('server')).then((s) => s.match(/process_id:(\d+)/)![1]);
  const restart = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'restart' });
  assert.equal(restart.status, 200, restart.text);
  const t2 = await startedTask(before + 1);
  assert.equal((await finished(t2.id)).status, 'SUCCESS');
  assert.notEqual(await onInstance((x) => x.info('server')).then((s) => s.match(/process_id:(\d+)/)![1]), pidBefore);
  await check();

  // A request names the whole set: keys back to its own name, flushall (not named) too.
  const back = await admin.put(`/v2/${P}/instances/${id}`, { rename_commands: { keys: 'keys' } });
  assert.equal(back.status, 204, back.text);
  const t3 = await startedTask(before + 2);
  assert.deepEqual(t3.details, { rename_commands: ['keys', 'flushall'] });
  assert.equal((await finished(t3.id)).status, 'SUCCESS');
  assert.deepEqual(await onInstance((x) => x.keys('*')), ['k1']);
  await unknownCommand(onInstance((x) => x.call('keys2', '*')));
});

test('with FLUSHALL and SCAN renamed, the service calls them by their new names: a big-key analysis and a flush still work', async () => {
  const before = (await tasks()).length;
  const r = await admin.put(`/v2/${P}/instances/${id}`, { rename_commands: { flushall: 'wipeAll2', scan: 'walk-keys' } });
  assert.equal(r.status, 204, r.text);
  assert.equal((await finished((await startedTask(before)).id)).status, 'SUCCESS');
  await unknownCommand(onInstance((x) => x.call('SCAN', '0')));
  await unknownCommand(onInstance((x) => x.flushall()));
  await onInstance((x) => x.rpush('list:renamed', ...Array.from({ length: 50 }, (_, j) => `e${j}`)));

  const created = await admin.post(`/v2/${P}/instances/${id}/bigkey-task`, undefined);
  assert.equal(created.status, 200, created.text);
  const analysis = await waitFor(async () => {
    const a = (await admin.get(`/v2/${P}/instances/${id}/bigkey-task/${created.body.id}`)).body;
    return (a.status === 'success' || a.status === 'failed') && a;
  }, 30_000, 'big-key analysis finished');
  assert.equal(analysis.status, 'success', JSON.stringify(analysis));
  assert.ok(analysis.keys.some((k: any) => k.name === 'list:renamed' && k.size === 50), JSON.stringify(analysis.keys));

  const flush = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' });
  assert.equal(flush.status, 200, flush.text);
  const flushTask = (await tasks())[0];
  assert.equal(flushTask.name, 'flushInstance');
  assert.equal((await finished(flushTask.id)).status, 'SUCCESS');
  assert.equal(await onInstance((x) => x.dbsize()), 0);
});

test('a flush written to the AOF under one name, then that name changed: the restart loads the data, the instance is RUNNING', async () => {
  // The previous test flushed through `wipeAll2`: Redis logged that name in its AOF, which a
  // server started without it cannot replay.
  await onInstance((x) => x.set('after:flush', 'kept'));
  const before = (await tasks()).length;
  const r = await admin.put(`/v2/${P}/instances/${id}`, { rename_commands: { flushall: 'wipeAll3' } });
  assert.equal(r.status, 204, r.text);
  const t = await finished((await startedTask(before)).id);
  assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
  assert.equal((await admin.get(`/v2/${P}/instances/${id}`)).body.status, 'RUNNING');
  assert.equal(await onInstance((x) => x.get('after:flush')), 'kept');
  assert.equal(await onInstance((x) => x.call('COMMAND', 'INFO', 'wipeall3')).then((i: any) => i[0][0]), 'flushall');
  await unknownCommand(onInstance((x) => x.call('wipeAll2')));
});
