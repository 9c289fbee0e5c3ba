/**
 * The store contract, run against both stores (a real SQLite file, a real PostgreSQL schema):
 * what the engine and the API rely on for exactly-once — one unfinished task per instance,
 * every task claimed by one owner, leases taken over only when expired, a lost lease refusing
 * every write, deletes that win once with their audit row, node filtering of managed instances.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { InstanceRecord } from '../../src/instances/records.js';
import type { NewTask } from '../../src/tasks/records.js';
import type { CreateTaskOutcome, Store } from '../../src/store/types.js';
import { dropDatabase, openStore, testDatabaseUrl } from '../helpers/db.js';
import { tempDir } from '../helpers/service.js';

const opened: { store: Store; url: string }[] = [];
after(async () => {
  for (const { store, url } of opened) {
    await store.close();
    await dropDatabase(url);
  }
});

const id = () => randomBytes(16).toString('hex');
const by = { userId: 'u1', userName: 'alice', message: 'cleanup' };

function instance(over: Partial<InstanceRecord> = {}): InstanceRecord {
  const now = Date.now();
  return {
    id: randomUUID(), projectId: 'p1', name: 'i', engine: 'Redis', engineVersion: '7.0', capacityGb: 1, host: '127.0.0.1',
    port: 6400, status: 'RUNNING', managed: false, redisUrl: 'redis://127.0.0.1:6400', password: null, pendingPassword: null,
    username: null, extra: {}, nodes: [], ownerNode: null, createdAt: now, updatedAt: now, ...over,
  };
}

function task(i: InstanceRecord, over: Partial<NewTask> = {}): NewTask {
  return {
    id: id(), projectId: i.projectId, instanceId: i.id, instanceName: i.name, name: 'flushInstance', details: {},
    userId: 'u1', userName: 'alice', params: '{}', state: {}, createdAt: Date.now(), steps: ['one', 'two'], ...over,
  };
}

/** Creates a task refusing no instance status (the rules on statuses have their own test). */
const create = (store: Store, t: NewTask) => store.createTask(t, { refuseStatuses: [] });

/** Claims at most one task. */
async function claimOne(store: Store, owner: string, leaseMs: number, now: number, nodeId?: string) {
  return (await store.claimTasks(owner, 1, leaseMs, now, nodeId))[0] ?? null;
}

/** The created task, or a failed assertion saying why it was refused. */
function createdTask(o: CreateTaskOutcome) {
  assert.ok(o.ok, `refused: ${o.ok ? '' : o.refused}`);
  return o.task;
}

async function withInstance(store: Store, over: Partial<InstanceRecord> = {}) {
  const i = instance(over);
  await store.insertInstance(i);
  return i;
}

async function finished(store: Store, i: InstanceRecord, status: 'SUCCESS' | 'FAILED' = 'SUCCESS', createdAt = Date.now()) {
  const t = task(i, { createdAt });
  createdTask(await create(store, t));
  const claimed = await claimOne(store, 'owner', 10_000, Date.now());
  assert.equal(claimed?.id, t.id);
  assert.ok(await store.finishTask(t.id, 'owner', status, status === 'FAILED' ? 'DCS.5000' : null, status === 'FAILED' ? 'why' : null, Date.now()));
  return t.id;
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`${kind} store`, () => {
    const fresh = async () => {
      const url = testDatabaseUrl(tempDir(), kind);
      const store = await openStore(url);
      opened.push({ store, url });
      return store;
    };

    test('instances are scoped to their project and patched in place', async () => {
      const store = await fresh();
      const i = await withInstance(store, { nodes: [{ name: 'node-0', port: 6400, role: 'master' }] });
      assert.equal(await store.getInstance('other-project', i.id), null);
      await store.updateInstance(i.id, { status: 'RESTARTING', port: 6500 });
      const got = await store.getInstance('p1', i.id);
      assert.equal(got?.status, 'RESTARTING');
      assert.equal(got?.port, 6500);
      assert.deepEqual(got?.nodes, i.nodes);
      assert.deepEqual((await store.listInstances('p1')).map((x) => x.id), [i.id]);
      assert.deepEqual(await store.listInstances('other-project'), []);
    });

    test('one unfinished task per instance, even when ten are created at once', async () => {
      const store = await fresh();
      const i = await withInstance(store);
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => create(store, task(i))));
      const ok = outcomes.filter((o) => o.ok);
      assert.equal(ok.length, 1);
      const winner = createdTask(ok[0]!);
      for (const o of outcomes.filter((x) => !x.ok)) assert.deepEqual(o, { ok: false, refused: 'busy', activeTask: winner });
      assert.equal((await store.listTasks({ projectId: 'p1', offset: 0, limit: 50 })).total, 1);
    });

    test('concurrent claimers: every task is claimed exactly once', async () => {
      const store = await fresh();
      const ids: string[] = [];
      for (let k = 0; k < 24; k++) {
        const t = task(await withInstance(store));
        createdTask(await create(store, t));
        ids.push(t.id);
      }
      const claims = await Promise.all(Array.from({ length: 6 }, async (_, w) => {
        const mine: string[] = [];
        for (;;) {
          const batch = await store.claimTasks(`worker-${w}`, 3, 10_000, Date.now());
          assert.ok(batch.length <= 3);
          if (batch.length === 0) return mine;
          for (const t of batch) {
            assert.equal(t.status, 'EXECUTING');
            assert.equal(t.leaseOwner, `worker-${w}`);
            mine.push(t.id);
          }
        }
      }));
      assert.deepEqual(claims.flat().sort(), [...ids].sort());
    });

    test('a lease is taken over only once expired, and the old owner can write nothing after', async () => {
      const store = await fresh();
      const i = await withInstance(store);
      const t = task(i);
      await create(store, t);
      const now = Date.now();
      assert.equal((await claimOne(store, 'a', 1000, now))?.attempts, 1);
      assert.equal(await claimOne(store, 'b', 1000, now + 500), null, 'lease still valid');
      assert.deepEqual(await store.renewLeases('a', [t.id], 1000, now + 500), [t.id]);
      assert.equal(await claimOne(store, 'b', 1000, now + 1200), null, 'renewed lease still valid');
      const taken = await claimOne(store, 'b', 1000, now + 1600);
      assert.equal(taken?.id, t.id);
      assert.equal(taken?.attempts, 2);
      assert.deepEqual(await store.renewLeases('a', [t.id], 1000, now + 1700), []);
      assert.equal(await store.updateStep(t.id, 'a', 'one', { status: 'FINISH', endAt: now }, now + 1700), false);
      assert.equal(await store.updateTaskState(t.id, 'a', { state: { x: 1 } }, now + 1700), false);
      assert.equal(await store.finishTask(t.id, 'a', 'SUCCESS', null, null, now + 1700), false);
      assert.ok(await store.updateStep(t.id, 'b', 'one', { status: 'FINISH', beginAt: now, endAt: now + 1700 }, now + 1700));
      assert.ok(await store.finishTask(t.id, 'b', 'SUCCESS', null, null, now + 1800));
      const done = await store.getTask('p1', t.id);
      assert.equal(done?.status, 'SUCCESS');
      assert.equal(done?.leaseOwner, null);
      assert.equal(done?.steps[0]?.status, 'FINISH');
    });

    test('tasks of a managed instance are claimed only by the node that supervises it', async () => {
      const store = await fresh();
      const i = await withInstance(store, { managed: true, ownerNode: 'node-x', redisUrl: null });
      await create(store, task(i));
      assert.deepEqual(await store.claimTasks('y/1', 5, 1000, Date.now(), 'node-y'), []);
      assert.equal((await claimOne(store, 'x/1', 1000, Date.now(), 'node-x'))?.instanceId, i.id);
    });

    test('a delete wins once, with one audit record; running and unknown tasks are refused', async () => {
      const store = await fresh();
      const i = await withInstance(store);
      const running = task(i);
      await create(store, running);
      assert.equal(await store.deleteFinishedTask('p1', running.id, i.id, by), 'running');
      await claimOne(store, 'o', 10_000, Date.now());
      await store.finishTask(running.id, 'o', 'FAILED', 'DCS.5000', 'why', Date.now());
      assert.equal(await store.deleteFinishedTask('p1', running.id, 'another-instance', by), 'not_found');
      assert.equal(await store.deleteFinishedTask('other-project', running.id, null, by), 'not_found');
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.deleteFinishedTask('p1', running.id, i.id, by)));
      assert.deepEqual(outcomes.filter((o) => o === 'deleted').length, 1);
      assert.ok(outcomes.every((o) => o === 'deleted' || o === 'not_found'));
      const audit = await store.listAudit('p1');
      assert.equal(audit.length, 1);
      assert.equal(audit[0]?.taskId, running.id);
      assert.equal(audit[0]?.lastStatus, 'FAILED');
      assert.equal(audit[0]?.actorName, 'alice');
      assert.equal(audit[0]?.message, 'cleanup');
      assert.equal(await store.getTask('p1', running.id), null);
    });

    test('listing pages newest first and filters by creation time; retention purges with an audit', async () => {
      const store = await fresh();
      const base = Date.now() - 10_000;
      const ids: string[] = [];
      for (let k = 0; k < 5; k++) ids.push(await finished(store, await withInstance(store), 'SUCCESS', base + k * 1000));
      const page = await store.listTasks({ projectId: 'p1', offset: 1, limit: 2 });
      assert.equal(page.total, 5);
      assert.deepEqual(page.tasks.map((t) => t.id), [ids[3], ids[2]]);
      const window = await store.listTasks({ projectId: 'p1', from: base + 1000, to: base + 3000, offset: 0, limit: 10 });
      assert.deepEqual(window.tasks.map((t) => t.id), [ids[3], ids[2], ids[1]]);
      const removed = await store.purgeFinishedBefore(Date.now() + 1, { userId: 'system', userName: 'retention', message: 'old' });
      assert.equal(removed, 5);
      assert.equal((await store.listAudit('p1')).filter((a) => a.actorName === 'retention').length, 5);
    });

    test('tokens are found by hash only', async () => {
      const store = await fresh();
      await store.insertToken({ hash: 'h1', accessKey: 'AK1', expiresAt: 5, createdAt: 1 });
      assert.deepEqual(await store.getToken('h1'), { hash: 'h1', accessKey: 'AK1', expiresAt: 5, createdAt: 1 });
      assert.equal(await store.getToken('h2'), null);
    });

    if (kind === 'postgres') {
      test('credentials: each node replaces only its own publication', async () => {
        const store = await fresh();
        const k = (ak: string) => ({ accessKey: ak, secretKey: `sk-${ak}`, projectId: 'p1', userId: 'u', userName: 'n', role: 'admin' as const });
        const shared = store.sharedCredentials;
        assert.ok(shared, 'PostgreSQL shares credentials between nodes');
        await shared.publishCredentials('n1', [k('A'), k('B')]);
        await shared.publishCredentials('n2', [k('C')]);
        await shared.publishCredentials('n1', [k('A')]);
        assert.deepEqual((await shared.listCredentials()).map((c) => c.accessKey), ['A', 'C']);
      });

      test('a dead node\'s unfinished tasks are failed with a reason; a live node\'s are left alone', async () => {
        const store = await fresh();
        const nodes = store.nodes;
        assert.ok(nodes, 'PostgreSQL keeps a node registry');
        const now = Date.now();
        await nodes.heartbeatNode('dead', now - 60_000);
        await nodes.heartbeatNode('alive', now);
        const deadOne = await withInstance(store, { managed: true, ownerNode: 'dead', redisUrl: null });
        const liveOne = await withInstance(store, { managed: true, ownerNode: 'alive', redisUrl: null });
        const a = task(deadOne);
        const b = task(liveOne);
        await create(store, a);
        await create(store, b);
        assert.deepEqual(await nodes.failOrphanedTasks(now - 30_000, now, 'DCS.5000'), [a.id]);
        const failed = await store.getTask('p1', a.id);
        assert.equal(failed?.status, 'FAILED');
        assert.equal(failed?.errorCode, 'DCS.5000');
        assert.match(failed?.failReason ?? '', /service node dead .*before any of its steps had finished/);
        assert.equal((await store.getTask('p1', b.id))?.status, 'CREATED');
      });
    }
  });
}
