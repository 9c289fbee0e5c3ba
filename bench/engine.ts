/**
 * Engine benchmark: tasks per second through the whole lifecycle — create, run one no-op step,
 * finish, delete — on the SQLite store, and the same lifecycle with BullMQ on the local Redis
 * (add → worker runs a no-op → completed → remove) as the reference, in one run. Both keep 64
 * lifecycles in flight. Last line: `engine_vs_bullmq_ratio=<x.xx>`.
 *
 * What ours persists that BullMQ does not: every state change and step is an fsync'd SQLite
 * commit (group commit), a lease with an owner, step begin/end times and an audit record on
 * delete. BullMQ keeps its job in Redis memory (this Redis does not persist).
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Queue, Worker, QueueEvents } from 'bullmq';
import { SqliteStore } from '../src/store/sqlite.js';
import { TaskEngine } from '../src/engine/engine.js';
import { TaskService } from '../src/tasks/service.js';
import type { InstanceRecord } from '../src/instances/records.js';
import { tempDir } from '../test/helpers/service.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 3000);
const IN_FLIGHT = 64;
const REDIS = { host: process.env.BENCH_REDIS_HOST ?? '127.0.0.1', port: Number(process.env.BENCH_REDIS_PORT ?? 6379) };

async function ours(): Promise<number> {
  const store = new SqliteStore(path.join(tempDir('dcs-bench-engine-'), 'dcs.db'));
  await store.migrate();
  const waiting = new Map<string, () => void>();
  const engine = new TaskEngine({
    store, logger: pino({ level: 'silent' }), concurrency: IN_FLIGHT, pollMs: 1000, failureCode: 'DCS.5000',
    onFinished: (id) => waiting.get(id)?.(),
  });
  const noopOp = { name: 'noop', steps: [{ name: 'no-op', run: async () => {} }] };
  engine.register(noopOp);
  const tasks = new TaskService(store, engine);
  const instances: InstanceRecord[] = [];
  for (let k = 0; k < IN_FLIGHT; k++) {
    const now = Date.now();
    const i: InstanceRecord = {
      id: randomUUID(), projectId: 'bench', name: `bench-${k}`, engine: 'Redis', engineVersion: '7.0', capacityGb: 1, host: '127.0.0.1',
      port: 1, status: 'RUNNING', managed: false, redisUrl: 'redis://127.0.0.1:1', password: null, pendingPassword: null,
      username: null, extra: {}, nodes: [], ownerNode: null, createdAt: now, updatedAt: now,
    };
    await store.insertInstance(i);
    instances.push(i);
  }
  engine.start();
  let remaining = TASKS;
  const t0 = process.hrtime.bigint();
  // One lifecycle at a time per instance (the one-active-task rule), IN_FLIGHT instances at once.
  await Promise.all(instances.map(async (instance) => {
    while (remaining-- > 0) {
      const t = await tasks.start(noopOp, instance, { params: {}, state: {} }, { userId: 'b', userName: 'b' });
      await new Promise<void>((r) => waiting.set(t.id, r));
      waiting.delete(t.id);
      await tasks.delete('bench', t.id, instance.id, { userId: 'b', userName: 'b' }, null);
    }
  }));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await engine.stop();
  await store.close();
  return TASKS / seconds;
}

async function bullmq(): Promise<number> {
  const name = `dcs-bench-${Date.now()}`;
  const queue = new Queue(name, { connection: REDIS });
  queue.setMaxListeners(0); // one waitUntilFinished per lifecycle in flight
  const events = new QueueEvents(name, { connection: REDIS });
  await events.waitUntilReady();
  const worker = new Worker(name, async () => {}, { connection: REDIS, concurrency: IN_FLIGHT });
  await worker.waitUntilReady();
  let remaining = TASKS;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (remaining-- > 0) {
      const job = await queue.add('noop', {});
      await job.waitUntilFinished(events);
      await job.remove();
    }
  }));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return TASKS / seconds;
}

const oursRate = await ours();
const bullRate = await bullmq();
console.log(`lifecycles=${TASKS} in_flight=${IN_FLIGHT}`);
console.log(`dcs-tasks engine (sqlite)  ${oursRate.toFixed(0).padStart(7)} tasks/s  (create, lease, step, finish, audited delete: all fsync'd)`);
console.log(`bullmq (redis, in memory)  ${bullRate.toFixed(0).padStart(7)} tasks/s`);
console.log(`engine_vs_bullmq_ratio=${(oursRate / bullRate).toFixed(2)}`);
