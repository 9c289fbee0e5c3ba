/**
 * The supervisor's events mirror process health into an instance's status only where no task
 * holds it: a master killed and restarted takes RUNNING to ERROR and back, but leaves a status a
 * task set (RESTARTING) for the task to settle. Real redis-servers, a real SQLite store and
 * PostgreSQL schema.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { RedisSupervisor } from '../../src/redis/supervisor.js';
import { InstanceRuntime, masterOf, nodeKey } from '../../src/instances/runtime.js';
import type { InstanceRecord } from '../../src/instances/records.js';
import type { Store } from '../../src/store/types.js';
import { dropDatabase, openStore, testDatabaseUrl } from '../helpers/db.js';
import { freePort } from '../helpers/redis.js';
import { waitFor } from '../helpers/client.js';
import { tempDir } from '../helpers/service.js';

const silent = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups.reverse()) await f();
});

async function managed(store: Store, status: InstanceRecord['status']): Promise<InstanceRecord> {
  const now = Date.now();
  const port = await freePort();
  const i: InstanceRecord = {
    id: randomUUID(), projectId: 'p1', name: `mirror-${status}`, engine: 'Redis', engineVersion: '7.0', capacityGb: 0.125, host: '127.0.0.1',
    port, status, managed: true, redisUrl: null, password: null, pendingPassword: null, username: null, extra: {},
    nodes: [{ name: 'node-0', port, role: 'master' }], ownerNode: null, createdAt: now, launchedAt: now, updatedAt: now,
  };
  assert.deepEqual(await store.insertInstance(i), { outcome: 'inserted' });
  return i;
}

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`${kind}: a killed master's return restores RUNNING, and leaves a task's RESTARTING alone`, async () => {
    const dataDir = tempDir();
    const url = testDatabaseUrl(dataDir, kind);
    const store = await openStore(url);
    const sup = new RedisSupervisor({ redisServer: 'redis-server', logger: silent, restartBackoffMs: 100 });
    cleanups.push(async () => { await sup.stopAll(); await store.close(); await dropDatabase(url); });
    const runtime = new InstanceRuntime(store, sup, dataDir, silent);
    const idle = await managed(store, 'RUNNING');
    const busy = await managed(store, 'RESTARTING');
    for (const i of [idle, busy]) await runtime.startNode(i, masterOf(i));
    const keys = [idle, busy].map((i) => nodeKey(i.id, 'node-0'));
    // Listened to after the runtime: once this hears a key's 'up', the runtime's handler has begun.
    const back = new Set<string>();
    sup.on('up', (key: string) => back.add(key));
    for (const k of keys) process.kill(sup.pid(k)!, 'SIGKILL');
    await waitFor(async () => keys.every((k) => back.has(k)), 20_000, 'both redis-servers back');
    await runtime.idle();
    assert.equal((await store.getInstanceById(idle.id))?.status, 'RUNNING');
    assert.equal((await store.getInstanceById(busy.id))?.status, 'RESTARTING', 'the process events overwrote the task\'s status');
  });
}
