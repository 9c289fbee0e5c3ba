/**
 * What a kill -9 leaves between a record and its processes: an instance whose delete was
 * committed, and a replica the record let go of, while their redis-servers (children of the
 * killed service) ran on. The next start stops those servers and removes their files; the
 * instances the store still records come back untouched.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { client, waitFor } from '../helpers/client.js';
import { openStore } from '../helpers/db.js';
import { createRunningInstance } from '../helpers/instance.js';
import { onRedis } from '../helpers/redis.js';
import { startService, type Service } from '../helpers/service.js';
// Running, not a zombie: a killed service's children are reparented, and pid 1 may never reap them.
import { alive } from '../../src/redis/leftovers.js';

let svc: Service | undefined;
after(async () => {
  await svc?.stop();
});

const PASSWORD = 'Strays#Pass123';

test('a delete and a replica removal cut short by kill -9: the next start stops their redis-servers and removes their files', async () => {
  svc = await startService();
  const admin = client(svc.url, svc.admin);
  const deleted = await createRunningInstance(admin, 'strays-deleted', PASSWORD);
  const kept = await createRunningInstance(admin, 'strays-kept', PASSWORD);
  const grow = await admin.post(`/v2/{p}/instances/${kept.id}/resize`, { change_type: 'createReplication' });
  assert.equal(grow.status, 200, grow.text);
  const replica = await waitFor(async () => {
    const s = (await admin.get(`/v2/{p}/instances/${kept.id}`)).body;
    return s.task === null && s.status === 'RUNNING' && s.nodes.find((n: any) => n.role === 'replica');
  }, 60_000, 'a replica added');
  await onRedis(kept.port, PASSWORD, (r) => r.set('kept:key', 'v'));
  const dirOf = (id: string, node?: string) => path.join(svc!.dataDir, 'instances', id, ...(node ? [node] : []));
  const pidIn = (dir: string) => Number(fs.readFileSync(path.join(dir, 'redis.pid'), 'utf8'));
  const deletedPid = pidIn(dirOf(deleted.id, 'node-0'));
  const replicaPid = pidIn(dirOf(kept.id, replica.name));
  fs.mkdirSync(path.join(svc.dataDir, 'backups', deleted.id), { recursive: true });

  await svc.kill9();
  assert.ok(alive(deletedPid) && alive(replicaPid), 'the redis-servers outlive the killed service');
  // What the store holds had the kill come just after the delete's commit, and just after the
  // removal's record, before either reached the processes.
  const store = await openStore(svc.database);
  try {
    assert.equal((await store.deleteInstance(svc.admin.project_id, deleted.id)).outcome, 'deleted');
    const i = (await store.getInstanceById(kept.id))!;
    await store.updateInstance(kept.id, { nodes: i.nodes.filter((n) => n.name !== replica.name) });
  } finally {
    await store.close();
  }

  await svc.restart();
  const again = client(svc.url, svc.admin);
  assert.equal(alive(deletedPid), false, 'the deleted instance\'s redis-server still runs');
  assert.equal(alive(replicaPid), false, 'the removed replica\'s redis-server still runs');
  assert.equal(fs.existsSync(dirOf(deleted.id)), false);
  assert.equal(fs.existsSync(path.join(svc.dataDir, 'backups', deleted.id)), false);
  assert.equal(fs.existsSync(dirOf(kept.id, replica.name)), false);
  assert.ok(fs.existsSync(dirOf(kept.id, 'node-0')));
  const shown = await waitFor(async () => {
    const s = (await again.get(`/v2/{p}/instances/${kept.id}`)).body;
    return s.status === 'RUNNING' && s;
  }, 20_000, 'the kept instance RUNNING');
  assert.deepEqual(shown.nodes.map((n: any) => n.name), ['node-0']);
  assert.equal(await onRedis(kept.port, PASSWORD, (r) => r.get('kept:key')), 'v');
  assert.equal((await again.get(`/v2/{p}/instances/${deleted.id}`)).status, 404);

  // The directories of another database's instances (a data directory used with another
  // database before), and unmarked ones, are not this store's to judge: left as they are.
  const foreign = [randomUUID(), randomUUID()];
  for (const [k, id] of foreign.entries()) {
    fs.mkdirSync(dirOf(id, 'node-0'), { recursive: true });
    fs.writeFileSync(path.join(dirOf(id, 'node-0'), 'appendonly.aof'), 'data');
    if (k === 0) fs.writeFileSync(path.join(dirOf(id), 'database'), 'another-database\n');
  }
  await svc.stop();
  await svc.restart();
  for (const id of foreign) assert.ok(fs.existsSync(path.join(dirOf(id, 'node-0'), 'appendonly.aof')), `${id} was removed`);
  assert.ok(fs.existsSync(dirOf(kept.id, 'node-0')));
});
