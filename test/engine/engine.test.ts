/**
 * The engine on a real SQLite store: a task whose owner died is taken over once its lease runs
 * out and resumes after its last finished step; a hanging step fails the task; a task that
 * keeps getting interrupted is failed instead of retried for ever; remain_time uses history.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { SqliteStore } from '../../src/store/sqlite.js';
import { TaskEngine } from '../../src/engine/engine.js';
import { TaskService } from '../../src/tasks/service.js';
import type { Operation } from '../../src/engine/operation.js';
import type { InstanceRecord } from '../../src/instances/records.js';
import { tempDir } from '../helpers/service.js';
import { waitFor } from '../helpers/client.js';

const logger = pino({ level: 'silent' });
const stores: SqliteStore[] = [];
const engines: TaskEngine[] = [];
after(async () => {
  for (const e of engines) await e.stop();
  for (const s of stores) await s.close();
});

async function setup() {
  const store = new SqliteStore(path.join(tempDir(), 'dcs.db'));
  stores.push(store);
  await store.migrate();
  const now = Date.now();
  const instance: InstanceRecord = {
    id: randomUUID(), projectId: 'p', name: 'engine-test', engine: 'Redis', engineVersion: '7.0', capacityGb: 1, host: '127.0.0.1',
    port: 1, status: 'RUNNING', managed: false, redisUrl: 'redis://127.0.0.1:1', password: null, pendingPassword: null,
    username: null, extra: {}, nodes: [], ownerNode: null, createdAt: now, launchedAt: now, updatedAt: now,
  };
  await store.insertInstance(instance);
  return { store, instance };
}

function engineFor(store: SqliteStore, ops: Operation[], o: Partial<ConstructorParameters<typeof TaskEngine>[0]> = {}) {
  const e = new TaskEngine({ store, logger, pollMs: 50, leaseMs: 300, failureCode: 'DCS.5000', ...o });
  for (const op of ops) e.register(op);
  engines.push(e);
  return e;
}

test('a task whose owner died is taken over after its lease and resumes after the last finished step', async () => {
  const { store, instance } = await setup();
  const ran: string[] = [];
  const op: Operation = {
    name: 'threeSteps',
    steps: ['one', 'two', 'three'].map((name) => ({ name, run: async () => void ran.push(name) })),
  };
  const id = randomBytes(16).toString('hex');
  await store.createTask({ id, projectId: 'p', instanceId: instance.id, instanceName: 'x', name: 'threeSteps', details: {}, userId: 'u', userName: 'u', params: '{}', state: {}, createdAt: Date.now(), steps: ['one', 'two', 'three'] }, { refuseStatuses: [] });
  // A node claims it, finishes step one, is in step two, and dies.
  const [claimed] = await store.claimTasks('dead-node', 1, 300, Date.now());
  assert.equal(claimed?.id, id);
  await store.updateStep(id, 'dead-node', 'one', { status: 'FINISH', beginAt: Date.now(), endAt: Date.now() }, Date.now());
  await store.updateStep(id, 'dead-node', 'two', { status: 'EXECUTING', beginAt: Date.now() }, Date.now());
  const e = engineFor(store, [op]);
  e.start();
  const t0 = Date.now();
  const done = await waitFor(async () => {
    const t = await store.getTask('p', id);
    return t?.status === 'SUCCESS' && t;
  }, 5000);
  assert.ok(Date.now() - t0 >= 150, 'not taken over before the lease ran out');
  assert.deepEqual(ran, ['two', 'three']);
  assert.equal(done.attempts, 2);
  assert.deepEqual(done.steps.map((s) => s.status), ['FINISH', 'FINISH', 'FINISH']);
  assert.equal(done.leaseOwner, null);
});

test('an end is reported once, by the engine that wrote it: not by an owner whose last write found its lease gone', async () => {
  const { store, instance } = await setup();
  let runs = 0;
  const op: Operation = { name: 'once', steps: [{ name: 'work', run: async () => void runs++ }] };
  const reported: string[] = [];
  // The first owner's closing write finds the lease gone (as when it ran out under a long pause).
  const losing = Object.create(store, { finishTask: { value: async () => false } }) as SqliteStore;
  const first = engineFor(losing, [op], {
    onFinished: (t, status) => reported.push(`first ${t.name} ${status}`),
    onReleased: (id) => reported.push(`first released ${id === t.id}`),
  });
  const tasks = new TaskService(store, first);
  first.start();
  const t = await tasks.start(op, instance, { params: {}, state: {} }, { userId: 'u', userName: 'u' });
  await waitFor(async () => runs === 1, 5000, 'the first owner ran the step');
  await first.stop();
  assert.equal((await store.getTask('p', t.id))?.status, 'EXECUTING', 'nothing ended: the closing write was refused');
  assert.deepEqual(reported, ['first released true'], 'the first owner let the task go, and said so');
  const second = engineFor(store, [op], {
    onFinished: (x, status) => reported.push(`second ${x.name} ${status}`),
    onReleased: (id) => reported.push(`second released ${id === t.id}`),
  });
  second.start();
  await waitFor(async () => reported.length === 3, 5000, 'the second owner finished it');
  assert.equal((await store.getTask('p', t.id))?.status, 'SUCCESS');
  assert.deepEqual(reported, ['first released true', 'second once SUCCESS', 'second released true']);
  assert.equal(runs, 2, 'the step ran again: its end was never recorded');
});

test('a hanging step fails the task with a reason; the instance is free again', async () => {
  const { store, instance } = await setup();
  const op: Operation = { name: 'hangs', steps: [{ name: 'wait for Redis', timeoutMs: 200, run: () => new Promise(() => {}) }] };
  const e = engineFor(store, [op]);
  const tasks = new TaskService(store, e);
  e.start();
  const t = await tasks.start(op, instance, { params: {}, state: {} }, { userId: 'u', userName: 'u' });
  const done = await waitFor(async () => {
    const x = await store.getTask('p', t.id);
    return x?.status === 'FAILED' && x;
  }, 5000);
  assert.equal(done.errorCode, 'DCS.5000');
  assert.match(done.failReason!, /wait for Redis did not finish within/);
  assert.equal(done.steps[0].status, 'FAILED');
  const next = await tasks.start(op, instance, { params: {}, state: {} }, { userId: 'u', userName: 'u' });
  assert.equal(next.status, 'EXECUTING', 'a task a request creates is EXECUTING at once (automation.md §1.1)');
});

test('a task interrupted too often ends FAILED instead of running again', async () => {
  const { store, instance } = await setup();
  let runs = 0;
  const op: Operation = { name: 'fragile', steps: [{ name: 'work', run: async () => void runs++ }] };
  const id = randomBytes(16).toString('hex');
  await store.createTask({ id, projectId: 'p', instanceId: instance.id, instanceName: 'x', name: 'fragile', details: {}, userId: 'u', userName: 'u', params: '{}', state: {}, createdAt: Date.now(), steps: ['work'] }, { refuseStatuses: [] });
  for (let i = 0; i < 3; i++) await store.claimTasks(`dying-${i}`, 1, -1, Date.now());
  const e = engineFor(store, [op], { maxAttempts: 3 });
  e.start();
  const done = await waitFor(async () => {
    const x = await store.getTask('p', id);
    return x?.status === 'FAILED' && x;
  }, 5000);
  assert.equal(runs, 0);
  assert.match(done.failReason!, /interrupted 3 times/);
});

test('remain_time comes from earlier tasks of the same name', async (t) => {
  const { store, instance } = await setup();
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let runs = 0;
  // The first run takes 1.2 s and becomes the history; the second is held until the test lets it go.
  const op: Operation = { name: 'timed', steps: [{ name: 'work', run: () => (++runs === 1 ? new Promise((r) => setTimeout(r, 1200)) : held) }] };
  t.after(() => release()); // a failed assertion must not leave the engine waiting on the held step
  const e = engineFor(store, [op], { leaseMs: 5000 });
  const tasks = new TaskService(store, e);
  e.start();
  const first = await tasks.start(op, instance, { params: {}, state: {} }, { userId: 'u', userName: 'u' });
  const firstDone = await waitFor(async () => {
    const x = await store.getTask('p', first.id);
    return x?.status === 'SUCCESS' && x;
  }, 5000);
  const typical = firstDone.finishedAt! - firstDone.startedAt!;
  assert.ok(typical >= 1200, `the first run took ${typical} ms`);
  const second = await tasks.start(op, instance, { params: {}, state: {} }, { userId: 'u', userName: 'u' });
  // A task is EXECUTING from its creation (automation.md §1.1); it has started once claimed.
  const running = await waitFor(async () => {
    const x = await store.getTask('p', second.id);
    return x?.status === 'EXECUTING' && x.startedAt !== null && x;
  }, 5000);
  // The estimate is the typical duration minus the time already spent, in whole seconds rounded
  // up; the time spent is only known to lie between the two clock readings around the call.
  const remainAfter = (elapsedMs: number) => Math.max(0, Math.ceil((typical - elapsedMs) / 1000));
  const from = Date.now();
  const p = await tasks.progress(running);
  const to = Date.now();
  const most = remainAfter(from - running.startedAt!);
  const least = remainAfter(to - running.startedAt!);
  assert.ok(p.remainTime >= least && p.remainTime <= most, `remain_time ${p.remainTime} outside [${least}, ${most}] for a ${typical} ms history`);
  assert.equal(p.progress, 0);
  release();
  await waitFor(async () => (await store.getTask('p', second.id))?.status === 'SUCCESS', 5000);
  assert.deepEqual(await tasks.progress((await store.getTask('p', second.id))!), { progress: 100, remainTime: 0 });
});
