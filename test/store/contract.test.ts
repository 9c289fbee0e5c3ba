/**
 * The store contract, run against both stores (a real SQLite file, a real PostgreSQL schema):
 * what the engine and the API rely on for exactly-once — one unfinished task per instance,
 * every task claimed by one owner, leases taken over only when expired, a lost lease refusing
 * every write, deletes that win once with their audit row, node filtering of managed instances,
 * an instance quota no race overruns.
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
    username: null, extra: {}, nodes: [], ownerNode: null, createdAt: now, launchedAt: now, updatedAt: now, ...over,
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

async function finished(store: Store, i: InstanceRecord, status: 'SUCCESS' | 'FAILED' = 'SUCCESS', createdAt = Date.now(), name = 'flushInstance') {
  const t = task(i, { createdAt, name });
  createdTask(await create(store, t));
  const claimed = await claimOne(store, 'owner', 10_000, Date.now());
  assert.equal(claimed?.id, t.id);
  assert.ok(await store.finishTask(t.id, 'owner', status, status === 'FAILED' ? 'DCS.5000' : null, status === 'FAILED' ? 'why' : null, Date.now()));
  return t.id;
}

// SQLite twice: the store itself, and as the service runs it — on its writer and reader threads,
// every call and answer (errors included) crossing between threads.
for (const [kind, threads] of [['sqlite', false], ['sqlite', true], ['postgres', false]] as const) {
  describe(`${kind} store${threads ? ' on its threads' : ''}`, () => {
    const fresh = async () => {
      const url = testDatabaseUrl(tempDir(), kind);
      const store = await openStore(url, { threads });
      opened.push({ store, url });
      return store;
    };
    /** Two store objects (two connections, two pools) on one database. */
    const freshPair = async () => {
      const url = testDatabaseUrl(tempDir(), kind);
      const a = await openStore(url, { threads });
      const b = await openStore(url, { threads });
      opened.push({ store: b, url }, { store: a, url });
      return [a, b] as const;
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

    test('launchedAt is written by the first update that records RUNNING, and kept by every later one', async () => {
      const store = await fresh();
      const i = await withInstance(store, { status: 'CREATING', launchedAt: null, createdAt: 1000, updatedAt: 1000 });
      await store.updateInstance(i.id, { status: 'CREATEFAILED', updatedAt: 1500 });
      assert.equal((await store.getInstance('p1', i.id))?.launchedAt, null);
      await store.updateInstance(i.id, { status: 'RUNNING', updatedAt: 2000 });
      assert.equal((await store.getInstance('p1', i.id))?.launchedAt, 2000);
      await store.updateInstance(i.id, { status: 'RESTARTING', updatedAt: 3000 });
      await store.updateInstance(i.id, { status: 'RUNNING', updatedAt: 4000 });
      const got = await store.getInstance('p1', i.id);
      assert.equal(got?.launchedAt, 2000);
      assert.equal(got?.updatedAt, 4000);
    });

    test('extraKeys set only their keys of extra, each replaced whole, any JSON value; the other keys stay', async () => {
      const store = await fresh();
      const i = await withInstance(store, { extra: { description: 'd', configs: { timeout: '5', maxclients: '10' }, tags: [{ key: 'a' }] } });
      const values = { configs: { timeout: '9' }, spec_code: null, count: 3, flag: false, list: [1, 'two', { three: null }], text: "it's \"quoted\"" };
      await store.updateInstance(i.id, { extraKeys: values });
      const got = await store.getInstance('p1', i.id);
      assert.deepEqual(got?.extra, { description: 'd', tags: [{ key: 'a' }], ...values });
      assert.equal(await store.updateInstance(i.id, { extraKeys: { 'a.b': 1 } }).then(() => 'written', (e: Error) => e.message), 'not a key of extra: "a.b"');
      assert.deepEqual((await store.getInstance('p1', i.id))?.extra, got?.extra);
    });

    test('keys of extra set at the same time on two connections are all kept', async () => {
      const [a, b] = await freshPair();
      const i = await withInstance(a, { extra: { description: 'kept' } });
      await Promise.all(Array.from({ length: 20 }, (_, k) => (k % 2 ? a : b).updateInstance(i.id, { extraKeys: { [`key_${k}`]: k } })));
      const extra = (await a.getInstance('p1', i.id))?.extra;
      assert.deepEqual(extra, { description: 'kept', ...Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`key_${k}`, k])) });
    });

    test('updateInstanceIf writes only while the status and the extra key are as required; a refused write changes nothing', async () => {
      const store = await fresh();
      const i = await withInstance(store, { extra: { tags: [{ key: 'a', value: '1' }], nothing: null } });
      const tagsAre = (value: unknown) => ({ extraKeyIs: { key: 'tags', value } });
      assert.equal(await store.updateInstanceIf(i.id, { extraKeys: { tags: [] } }, tagsAre([{ key: 'a', value: '2' }])), false, 'another value');
      assert.equal(await store.updateInstanceIf(i.id, { extraKeys: { tags: [] } }, tagsAre(undefined)), false, 'absent, but it is set');
      assert.equal(await store.updateInstanceIf(i.id, { extraKeys: { tags: [] } }, { ...tagsAre([{ key: 'a', value: '1' }]), statusIn: ['ERROR'] }), false, 'status');
      assert.deepEqual((await store.getInstance('p1', i.id))?.extra.tags, [{ key: 'a', value: '1' }]);
      assert.equal(await store.updateInstanceIf(i.id, { extraKeys: { tags: [{ key: 'b', value: '' }] } }, { ...tagsAre([{ key: 'a', value: '1' }]), statusIn: ['RUNNING'] }), true);
      assert.deepEqual((await store.getInstance('p1', i.id))?.extra.tags, [{ key: 'b', value: '' }]);
      assert.equal(await store.updateInstanceIf(i.id, { extraKeys: { other: 1 } }, { extraKeyIs: { key: 'other', value: undefined } }), true, 'absent key');
      assert.equal(await store.updateInstanceIf(i.id, { extraKeys: { nothing: 2 } }, { extraKeyIs: { key: 'nothing', value: undefined } }), false, 'a JSON null is not absent');
      assert.equal(await store.updateInstanceIf(i.id, { extraKeys: { nothing: 2 } }, { extraKeyIs: { key: 'nothing', value: null } }), true);
      assert.deepEqual((await store.getInstance('p1', i.id))?.extra, { tags: [{ key: 'b', value: '' }], nothing: 2, other: 1 });
      assert.equal(await store.updateInstanceIf(i.id, { status: 'ERROR' }, { statusIn: ['RUNNING', 'RESTARTING'] }), true);
      assert.equal((await store.getInstance('p1', i.id))?.status, 'ERROR');
    });

    test('the instance quota holds when ten inserts race on two connections; other projects and unquoted inserts are not held', async () => {
      const [a, b] = await freshPair();
      const inserted = await Promise.all(Array.from({ length: 10 }, (_, k) => (k % 2 ? a : b).insertInstance(instance({ projectId: 'pq' }), 3)));
      assert.equal(inserted.filter((o) => o.outcome === 'inserted').length, 3, JSON.stringify(inserted));
      assert.deepEqual(new Set(inserted.map((o) => o.outcome)), new Set(['inserted', 'over_quota']));
      assert.equal((await a.listInstances('pq')).length, 3);
      assert.deepEqual(await b.insertInstance(instance({ projectId: 'pq' }), 3), { outcome: 'over_quota' }, 'full');
      assert.deepEqual(await b.insertInstance(instance({ projectId: 'pq-other' }), 3), { outcome: 'inserted' }, 'another project has its own quota');
      assert.deepEqual(await a.insertInstance(instance({ projectId: 'pq' })), { outcome: 'inserted' }, 'no quota given: inserted');
      assert.equal((await b.listInstances('pq')).length, 4);
    });

    test('managed instances of several projects racing on two connections for one node port: one is inserted, the others are refused with it', async () => {
      const [a, b] = await freshPair();
      const managed = (port: number, replicaPort: number, projectId = 'pp') => instance({
        projectId, managed: true, redisUrl: null, port,
        nodes: [{ name: 'node-0', port, role: 'master' }, { name: 'node-1', port: replicaPort, role: 'replica' }],
      });
      const outcomes = await Promise.all(Array.from({ length: 6 }, (_, k) => (k % 2 ? a : b).insertInstance(managed(7100 + k, 7200, `pp-${k}`), 20)));
      assert.equal(outcomes.filter((o) => o.outcome === 'inserted').length, 1, JSON.stringify(outcomes));
      assert.deepEqual(outcomes.filter((o) => o.outcome !== 'inserted'), Array.from({ length: 5 }, () => ({ outcome: 'port_taken', port: 7200 })));
      assert.deepEqual(await a.insertInstance(managed(7200, 7300)), { outcome: 'port_taken', port: 7200 }, 'a master on a replica\'s port');
      assert.deepEqual(await a.insertInstance(instance({ projectId: 'pp', port: 7200 })), { outcome: 'inserted' }, 'an attached Redis holds no port here');
      assert.equal((await b.listInstances('pp')).length, 1);
    });


    test('a port claimed by a task (claimPort) is held: claims and inserts racing for it on two connections, one wins; a taken port refuses the task', async () => {
      const [a, b] = await freshPair();
      const managed = (port: number) => instance({ projectId: 'pc', managed: true, redisUrl: null, port, nodes: [{ name: 'node-0', port, role: 'master' }] });
      const movers = [managed(7400), managed(7401), managed(7402)];
      for (const m of movers) await a.insertInstance(m);
      const outcomes = await Promise.all([
        ...movers.map((m, k) => (k % 2 ? a : b).createTask(task(m, { name: 'UpdatePort' }), { refuseStatuses: [], claimPort: 7500 })),
        a.insertInstance(managed(7500)), b.insertInstance(managed(7500)),
      ]);
      const won = outcomes.filter((o) => ('ok' in o ? o.ok : o.outcome === 'inserted'));
      assert.equal(won.length, 1, JSON.stringify(outcomes));
      for (const o of outcomes.filter((x) => !won.includes(x))) {
        assert.deepEqual('ok' in o ? { refused: (o as any).refused, port: (o as any).port } : o, 'ok' in o ? { refused: 'port_taken', port: 7500 } : { outcome: 'port_taken', port: 7500 });
      }
      const claimed = (await a.listInstances('pc')).filter((i) => i.extra.reserved_port === 7500);
      assert.equal(claimed.length + (outcomes.slice(3).some((o) => (o as any).outcome === 'inserted') ? 1 : 0), 1);
      // A port on a node of another instance refuses the task, which is not created.
      const idle = managed(7403);
      await a.insertInstance(idle);
      const refused = await b.createTask(task(idle, { name: 'UpdatePort' }), { refuseStatuses: [], claimPort: 7402 });
      assert.deepEqual({ ok: refused.ok, refused: (refused as any).refused, port: (refused as any).port }, { ok: false, refused: 'port_taken', port: 7402 });
      // A claim holds while its task runs; failed without its failure hook (as for a dead node), it holds nothing.
      const mover = managed(7404);
      await a.insertInstance(mover);
      const moving = createdTask(await a.createTask(task(mover, { name: 'UpdatePort' }), { refuseStatuses: [], claimPort: 7600 }));
      assert.ok((await b.heldPorts()).has(7600));
      assert.ok((await b.heldPorts()).has(7404));
      const claimedTasks = await a.claimTasks('owner-x', 10, 60_000, Date.now());
      assert.ok(claimedTasks.some((t) => t.id === moving.id));
      assert.equal(await a.finishTask(moving.id, 'owner-x', 'FAILED', 'DCS.5000', 'its node died', Date.now()), true);
      assert.equal((await b.heldPorts()).has(7600), false);
      assert.equal((await b.createTask(task(idle, { name: 'UpdatePort' }), { refuseStatuses: [], claimPort: 7600 })).ok, true);
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

    /** A task whose owner 'a' finished step one and was in step two when 'b' took it over. */
    const takenOverInStepTwo = async () => {
      const store = await fresh();
      const i = await withInstance(store);
      const t = task(i);
      await create(store, t);
      const now = Date.now();
      assert.ok(await claimOne(store, 'a', 1000, now));
      assert.ok(await store.updateStep(t.id, 'a', 'one', { status: 'FINISH', beginAt: now, endAt: now }, now));
      assert.ok(await store.updateStep(t.id, 'a', 'two', { status: 'EXECUTING', beginAt: now }, now));
      assert.ok(await claimOne(store, 'b', 1000, now + 1500));
      return { store, t, now };
    };

    test('a task failed after an interrupted run ends the step that run left EXECUTING', async () => {
      // 'a' died in step two; 'b' gives the task up without running a step.
      const { store, t, now } = await takenOverInStepTwo();
      assert.ok(await store.finishTask(t.id, 'b', 'FAILED', 'DCS.5000', 'interrupted too often', now + 1600));
      const done = await store.getTask('p1', t.id);
      assert.equal(done?.status, 'FAILED');
      assert.deepEqual(done?.steps.map((s) => [s.name, s.status, s.endAt, s.errorCode]), [
        ['one', 'FINISH', now, null],
        ['two', 'FAILED', now + 1600, 'DCS.5000'],
      ]);
    });

    test('the last step and the success are recorded together, and not at all by a lost lease', async () => {
      // Taken over: the old owner's combined write changes nothing.
      const { store, t, now } = await takenOverInStepTwo();
      assert.equal(await store.finishTask(t.id, 'a', 'SUCCESS', null, null, now + 1600, 'two'), false);
      const still = await store.getTask('p1', t.id);
      assert.equal(still?.status, 'EXECUTING');
      assert.equal(still?.leaseOwner, 'b');
      assert.equal(still?.steps[1]?.status, 'EXECUTING');
      assert.ok(await store.finishTask(t.id, 'b', 'SUCCESS', null, null, now + 1700, 'two'));
      const done = await store.getTask('p1', t.id);
      assert.equal(done?.status, 'SUCCESS');
      assert.equal(done?.leaseOwner, null);
      assert.deepEqual(done?.steps.map((s) => [s.name, s.status]), [['one', 'FINISH'], ['two', 'FINISH']]);
      assert.equal(done?.steps[1]?.endAt, now + 1700);
      assert.equal(done?.steps[1]?.beginAt, now, 'the step keeps its start');
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
      const retention = { userId: 'system', userName: 'retention', message: 'old' };
      // A chunk at a time: fewer than the limit says none is left.
      assert.equal(await store.purgeFinishedBefore(Date.now() + 1, retention, 3), 3);
      assert.equal(await store.purgeFinishedBefore(Date.now() + 1, retention, 3), 2);
      assert.equal(await store.purgeFinishedBefore(Date.now() + 1, retention, 3), 0);
      assert.equal((await store.listAudit('p1')).filter((a) => a.actorName === 'retention').length, 5);
      assert.equal((await store.listTasks({ projectId: 'p1', offset: 0, limit: 10 })).total, 0);
    });

    test('retention takes only tasks that finished before the cutoff, of every name, never an unfinished one', async () => {
      const store = await fresh();
      const retention = { userId: 'system', userName: 'retention', message: 'old' };
      const old = [
        await finished(store, await withInstance(store), 'SUCCESS', Date.now(), 'flushInstance'),
        await finished(store, await withInstance(store), 'FAILED', Date.now(), 'restartInstance'),
        await finished(store, await withInstance(store), 'SUCCESS', Date.now(), 'AddReplica'),
      ];
      const cutoff = Date.now() + 1;
      while (Date.now() <= cutoff) await new Promise((r) => setImmediate(r)); // the next task finishes after the cutoff
      const recent = await finished(store, await withInstance(store), 'SUCCESS', Date.now(), 'flushInstance');
      const unfinished = createdTask(await create(store, task(await withInstance(store), { name: 'AddReplica', createdAt: 1 })));
      assert.equal(await store.purgeFinishedBefore(cutoff, retention, 100), 3);
      assert.deepEqual((await store.listAudit('p1')).map((a) => a.taskId).sort(), [...old].sort());
      for (const id of old) assert.equal(await store.getTask('p1', id), null);
      assert.equal((await store.getTask('p1', recent))?.status, 'SUCCESS');
      assert.equal((await store.getTask('p1', unfinished.id))?.status, unfinished.status);
      assert.equal(await store.purgeFinishedBefore(cutoff, retention, 100), 0);
    });

    test('tokens are found by hash only', async () => {
      const store = await fresh();
      await store.insertToken({ hash: 'h1', accessKey: 'AK1', expiresAt: 5, createdAt: 1 });
      assert.deepEqual(await store.getToken('h1'), { hash: 'h1', accessKey: 'AK1', expiresAt: 5, createdAt: 1 });
      assert.equal(await store.getToken('h2'), null);
    });

    test('claimTasks claims at most the limit, oldest first, each once, with its steps and one attempt', async () => {
      const store = await fresh();
      const base = Date.now() - 10_000;
      const ids: string[] = [];
      for (let k = 0; k < 5; k++) {
        const t = task(await withInstance(store), { createdAt: base + k });
        createdTask(await create(store, t));
        ids.push(t.id);
      }
      const now = Date.now();
      const first = await store.claimTasks('a', 3, 1000, now);
      assert.deepEqual(first.map((t) => t.id), ids.slice(0, 3));
      for (const t of first) {
        assert.equal(t.attempts, 1);
        assert.equal(t.leaseExpiresAt, now + 1000);
        assert.deepEqual(t.steps.map((x) => [x.name, x.status]), [['one', 'WAITING'], ['two', 'WAITING']]);
      }
      assert.deepEqual((await store.claimTasks('b', 10, 1000, now)).map((t) => t.id), ids.slice(3));
      assert.deepEqual(await store.claimTasks('c', 10, 1000, now), []);
    });

    test('renewLeases renews only the leases the owner still holds unexpired', async () => {
      const store = await fresh();
      const ids: string[] = [];
      for (let k = 0; k < 3; k++) {
        const t = task(await withInstance(store), { createdAt: Date.now() - 10_000 + k });
        createdTask(await create(store, t));
        ids.push(t.id);
      }
      const [x, y, z] = ids as [string, string, string];
      const now = Date.now();
      assert.equal((await store.claimTasks('a', 3, 1000, now)).length, 3);
      assert.ok(await store.finishTask(z, 'a', 'SUCCESS', null, null, now + 100));
      assert.deepEqual((await store.renewLeases('a', [x, y, z, 'unknown'], 1000, now + 500)).sort(), [x, y].sort());
      assert.deepEqual(await store.renewLeases('b', [x, y], 1000, now + 600), [], 'another owner renews nothing');
      // Both leases ran out at now + 1500; b takes x over; y is merely expired: a renews neither.
      assert.equal((await claimOne(store, 'b', 1000, now + 1600))?.id, x);
      assert.deepEqual(await store.renewLeases('a', [x, y], 1000, now + 1600), []);
      assert.equal((await store.getTask('p1', y))?.leaseExpiresAt, now + 1500, 'an expired lease stays expired');
    });

    test('fenced writes: refused for another owner and for an expired lease, and they change nothing', async () => {
      const store = await fresh();
      const i = await withInstance(store);
      const t = task(i);
      await create(store, t);
      const now = Date.now();
      await claimOne(store, 'a', 1000, now);
      const late = now + 1001; // the lease ran out at now + 1000; nobody has taken it over
      for (const [owner, at] of [['b', now + 10], ['a', late]] as const) {
        assert.equal(await store.updateStep(t.id, owner, 'one', { status: 'EXECUTING', beginAt: at }, at), false);
        assert.equal(await store.updateStep(t.id, owner, 'brand-new', { status: 'EXECUTING', beginAt: at }, at), false);
        assert.equal(await store.updateTaskState(t.id, owner, { state: { x: 1 }, details: { y: 2 } }, at), false);
        assert.equal(await store.updateInstanceAsTask({ taskId: t.id, owner, now: at }, i.id, { status: 'RESTARTING' }), false);
        assert.equal(await store.finishTask(t.id, owner, 'SUCCESS', null, null, at), false);
      }
      const after = await store.getTask('p1', t.id);
      assert.equal(after?.status, 'EXECUTING');
      assert.deepEqual(after?.state, {});
      assert.deepEqual(after?.details, {});
      assert.deepEqual(after?.steps.map((x) => [x.name, x.status]), [['one', 'WAITING'], ['two', 'WAITING']]);
      assert.equal((await store.getInstance('p1', i.id))?.status, 'RUNNING');
    });

    test('updateInstanceAsTask applies the patch while the task is held, and only to that instance', async () => {
      const store = await fresh();
      const i = await withInstance(store);
      const other = await withInstance(store);
      const t = task(i);
      await create(store, t);
      const now = Date.now();
      await claimOne(store, 'a', 1000, now);
      assert.ok(await store.updateInstanceAsTask({ taskId: t.id, owner: 'a', now: now + 500 }, i.id, { status: 'RESTARTING', port: 6501 }));
      const got = await store.getInstance('p1', i.id);
      assert.equal(got?.status, 'RESTARTING');
      assert.equal(got?.port, 6501);
      assert.equal((await store.getInstance('p1', other.id))?.status, 'RUNNING');
      assert.ok(await store.finishTask(t.id, 'a', 'SUCCESS', null, null, now + 600));
      assert.equal(await store.updateInstanceAsTask({ taskId: t.id, owner: 'a', now: now + 700 }, i.id, { status: 'ERROR' }), false,
        'a finished task holds no lease');
      assert.equal((await store.getInstance('p1', i.id))?.status, 'RESTARTING');
    });

    test('updateStep finds the step by name, keeps unset columns, and appends a name the task lacks', async () => {
      const store = await fresh();
      const t = task(await withInstance(store));
      await create(store, t);
      const now = Date.now();
      await claimOne(store, 'a', 10_000, now);
      assert.ok(await store.updateStep(t.id, 'a', 'two', { status: 'EXECUTING', beginAt: now + 1, errorCode: 'X' }, now + 1));
      assert.ok(await store.updateStep(t.id, 'a', 'two', { status: 'FINISH', endAt: now + 2, errorCode: null }, now + 2));
      assert.ok(await store.updateStep(t.id, 'a', 'three', { status: 'EXECUTING', beginAt: now + 3 }, now + 3));
      const got = await store.getTask('p1', t.id);
      assert.deepEqual(got?.steps, [
        { index: 0, name: 'one', status: 'WAITING', beginAt: null, endAt: null, errorCode: null },
        { index: 1, name: 'two', status: 'FINISH', beginAt: now + 1, endAt: now + 2, errorCode: null },
        { index: 2, name: 'three', status: 'EXECUTING', beginAt: now + 3, endAt: null, errorCode: null },
      ]);
      assert.equal(got?.updatedAt, now + 3);
    });

    test('createTask is refused when the instance is gone, in a refused state, or busy, and then changes nothing', async () => {
      const store = await fresh();
      const gone = instance();
      assert.deepEqual(await store.createTask(task(gone), { refuseStatuses: ['CREATING', 'DELETING'] }), { ok: false, refused: 'instance_gone' });
      const elsewhere = await withInstance(store, { projectId: 'p2' });
      assert.deepEqual(await store.createTask(task(elsewhere, { projectId: 'p1' }), { refuseStatuses: [] }), { ok: false, refused: 'instance_gone' },
        'an instance of another project is gone for this one');
      const creating = await withInstance(store, { status: 'CREATING' });
      assert.deepEqual(await store.createTask(task(creating), { refuseStatuses: ['CREATING', 'DELETING'] }),
        { ok: false, refused: 'instance_state', status: 'CREATING' });
      const busy = await withInstance(store);
      const first = createdTask(await store.createTask(task(busy), { refuseStatuses: ['CREATING', 'DELETING'] }));
      const second = await store.createTask(task(busy), { refuseStatuses: ['CREATING'], instancePatch: { pendingPassword: 'secret' } });
      assert.ok(!second.ok && second.refused === 'busy');
      assert.equal(second.activeTask.id, first.id);
      assert.equal(second.activeTask.status, 'CREATED');
      assert.equal((await store.getInstance('p1', busy.id))?.pendingPassword, null, 'a refused task writes no instance patch');
      assert.equal((await store.listTasks({ projectId: 'p1', offset: 0, limit: 50 })).total, 1);
      assert.equal((await store.listTasks({ projectId: 'p2', offset: 0, limit: 50 })).total, 0);
      // The patch of an accepted task is written with it.
      const other = await withInstance(store);
      createdTask(await store.createTask(task(other), { refuseStatuses: [], instancePatch: { pendingPassword: 'secret' } }));
      assert.equal((await store.getInstance('p1', other.id))?.pendingPassword, 'secret');
    });

    test('deleteInstance: busy with the active task, then deleted; its finished tasks stay', async () => {
      const store = await fresh();
      assert.deepEqual(await store.deleteInstance('p1', randomUUID()), { outcome: 'not_found' });
      const i = await withInstance(store);
      assert.deepEqual(await store.deleteInstance('other-project', i.id), { outcome: 'not_found' });
      const t = createdTask(await create(store, task(i)));
      const busy = await store.deleteInstance('p1', i.id);
      assert.ok(busy.outcome === 'busy');
      assert.equal(busy.activeTask.id, t.id);
      assert.ok(await store.getInstance('p1', i.id));
      await claimOne(store, 'o', 10_000, Date.now());
      assert.ok(await store.finishTask(t.id, 'o', 'SUCCESS', null, null, Date.now()));
      assert.deepEqual(await store.deleteInstance('p1', i.id), { outcome: 'deleted' });
      assert.equal(await store.getInstance('p1', i.id), null);
      assert.equal((await store.getTask('p1', t.id))?.status, 'SUCCESS');
    });

    test('a task create and an instance delete racing on two connections never both succeed (100 tries)', async () => {
      const [a, b] = await freshPair();
      let created = 0;
      let deleted = 0;
      for (let k = 0; k < 100; k++) {
        const i = await withInstance(a);
        const t = task(i);
        const [c, d] = await Promise.all([a.createTask(t, { refuseStatuses: ['CREATING', 'DELETING'] }), b.deleteInstance('p1', i.id)]);
        assert.ok(!(c.ok && d.outcome === 'deleted'), `try ${k}: both the task and the delete were acknowledged`);
        if (c.ok) {
          created++;
          assert.ok(d.outcome === 'busy' && d.activeTask.id === t.id, `try ${k}: ${d.outcome}`);
          assert.ok(await a.getInstance('p1', i.id));
        } else {
          deleted++;
          assert.deepEqual(c, { ok: false, refused: 'instance_gone' });
          assert.equal(d.outcome, 'deleted');
          assert.equal(await a.getTask('p1', t.id), null);
        }
      }
      assert.equal(created + deleted, 100);
    });

    test('releaseStaleLeases frees the leases no live process holds', async () => {
      const store = await fresh();
      const now = Date.now();
      const owners = ['n1/old', 'n10/other', 'n2/other'];
      const ids: string[] = [];
      for (const [k, owner] of owners.entries()) {
        const t = task(await withInstance(store), { createdAt: now - 10_000 + k });
        await create(store, t);
        assert.equal((await claimOne(store, owner, 60_000, now))?.id, t.id);
        ids.push(t.id);
      }
      // SQLite: one process per data directory, so every lease is stale at start-up. PostgreSQL:
      // only the leases of earlier incarnations of this node (n1/…, not n10/…).
      const stale = kind === 'sqlite' ? ids : [ids[0]];
      assert.equal(await store.releaseStaleLeases('n1', now), stale.length);
      const reclaimed = await store.claimTasks('n1/new', 10, 60_000, now + 1);
      assert.deepEqual(reclaimed.map((t) => t.id), stale);
      assert.ok(reclaimed.every((t) => t.attempts === 2));
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
        assert.deepEqual(await nodes.failOrphanedTasks(now - 30_000, now, 'DCS.5000'), [{ id: a.id, name: a.name }]);
        const failed = await store.getTask('p1', a.id);
        assert.equal(failed?.status, 'FAILED');
        assert.equal(failed?.errorCode, 'DCS.5000');
        assert.match(failed?.failReason ?? '', /service node dead .*before any of its steps had finished/);
        assert.equal((await store.getTask('p1', b.id))?.status, 'CREATED');
      });
    }
  });
}
