/**
 * Engine benchmark: lifecycles per second — create a task, run one no-op step, finish, delete —
 * with IN_FLIGHT lifecycles at once, on this service's engine and on two peers:
 *
 *   dcs-tasks engine, SQLite store      vs  BullMQ on the local Redis
 *   dcs-tasks engine, PostgreSQL store  vs  pg-boss on the same PostgreSQL database
 *
 * Every peer learns that a job finished the same way: an IN-PROCESS notification, given after the
 * completion is committed — the engine's `onFinished`, the BullMQ Worker's own `completed` event,
 * and for pg-boss our loop over its public fetch/complete calls (pg-boss's `work()` completes
 * without awaiting and tells nobody, so there is no point to wait on). Every worker is also woken
 * in-process when a job is created (engine.kick; BullMQ's worker blocks on Redis; the pg-boss loop
 * is kicked), so no peer waits on a polling timer. BullMQ through `QueueEvents` (a Redis stream
 * read by another connection, cross-process) is printed as a second row, for reference only.
 *
 * The SQLite store runs on its own thread, as in the service. Store calls made here, besides TaskEngine's register/start/kick/stop/onFinished: insertInstance,
 * createTask, deleteFinishedTask.
 *
 * Last lines: `pg_engine_vs_pgboss_ratio=<x.xx>`, then `engine_vs_bullmq_ratio=<x.xx>` (SQLite
 * engine against BullMQ's in-process row). Env: BENCH_TASKS (3000), BENCH_SKIP_POSTGRES=1,
 * BENCH_REDIS_HOST/PORT (127.0.0.1:6379).
 */
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { Queue, Worker, QueueEvents } from 'bullmq';
import PgBoss from 'pg-boss';
import { sqliteStoreOnThread } from '../src/store/sqlite/thread.js';
import { PostgresStore, parsePostgresUrl } from '../src/store/postgres.js';
import { TaskEngine } from '../src/engine/engine.js';
import type { Store } from '../src/store/types.js';
import type { InstanceRecord } from '../src/instances/records.js';
import { tempDir } from '../test/helpers/service.js';
import { dropDatabase, testDatabaseUrl } from '../test/helpers/db.js';
import { machine } from './lib/processes.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 3000);
const IN_FLIGHT = 64;
const SKIP_POSTGRES = Boolean(process.env.BENCH_SKIP_POSTGRES);
const REDIS = { host: process.env.BENCH_REDIS_HOST ?? '127.0.0.1', port: Number(process.env.BENCH_REDIS_PORT ?? 6379) };
const PROJECT = 'bench';
/** The one step every peer runs. */
const noStep = async (_data?: unknown): Promise<void> => {};
const ACTOR = { userId: 'bench', userName: 'bench' };

/** Promises keyed by job id, settled by whatever notification a peer gives. */
class Finished {
  private readonly waiting = new Map<string, () => void>();
  /** Call before the job can possibly finish. */
  expect(id: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }
  done(id: string): void {
    this.waiting.get(id)?.();
    this.waiting.delete(id);
  }
}

/** Runs TASKS lifecycles, IN_FLIGHT lanes at once, each lane one after another; lifecycles/s. */
async function lifecycles(one: (lane: number) => Promise<void>): Promise<number> {
  let remaining = TASKS;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async (_, lane) => {
    while (remaining-- > 0) await one(lane);
  }));
  return TASKS / ((performance.now() - t0) / 1000);
}

async function engineRate(store: Store): Promise<number> {
  await store.migrate();
  const finished = new Finished();
  const engine = new TaskEngine({
    store, logger: pino({ level: 'silent' }), concurrency: IN_FLIGHT, pollMs: 1000, failureCode: 'DCS.5000',
    onFinished: (t) => finished.done(t.id),
  });
  engine.register({ name: 'noop', steps: [{ name: 'no-op', run: () => noStep() }] });
  // One lane per instance: the store allows one active task per instance.
  const instances: InstanceRecord[] = [];
  for (let k = 0; k < IN_FLIGHT; k++) {
    const now = Date.now();
    const i: InstanceRecord = {
      id: randomUUID(), projectId: PROJECT, name: `bench-${k}`, engine: 'Redis', engineVersion: '7.0', capacityGb: 1, host: '127.0.0.1',
      port: 1, status: 'RUNNING', managed: false, redisUrl: 'redis://127.0.0.1:1', password: null, pendingPassword: null,
      username: null, extra: {}, nodes: [], ownerNode: null, createdAt: now, launchedAt: now, updatedAt: now,
    };
    await store.insertInstance(i);
    instances.push(i);
  }
  engine.start();
  try {
    return await lifecycles(async (lane) => {
      const instance = instances[lane]!;
      const id = randomBytes(16).toString('hex');
      const done = finished.expect(id);
      const created = await store.createTask({
        id, projectId: PROJECT, instanceId: instance.id, instanceName: instance.name, name: 'noop', details: {},
        ...ACTOR, params: '{}', state: {}, createdAt: Date.now(), steps: ['no-op'],
      }, { refuseStatuses: ['CREATING', 'DELETING'] }); // what TaskService refuses
      if (!created.ok) throw new Error(`instance ${instance.id} refused the task`);
      engine.kick();
      await done;
      const deleted = await store.deleteFinishedTask(PROJECT, id, instance.id, { ...ACTOR, message: null });
      if (deleted !== 'deleted') throw new Error(`delete of ${id}: ${deleted}`);
    });
  } finally {
    await engine.stop();
    await store.close();
  }
}

/** BullMQ: add → Worker runs a no-op → completed → remove; told of completion in-process or through QueueEvents. */
async function bullmqRate(notification: 'worker' | 'queue-events'): Promise<number> {
  const name = `dcs-bench-${randomBytes(4).toString('hex')}`;
  const queue = new Queue(name, { connection: REDIS });
  const worker = new Worker(name, (job) => noStep(job.data), { connection: REDIS, concurrency: IN_FLIGHT });
  await worker.waitUntilReady();
  const finished = new Finished();
  let events: QueueEvents | null = null;
  if (notification === 'worker') worker.on('completed', (job) => finished.done(job.id!));
  else {
    events = new QueueEvents(name, { connection: REDIS });
    await events.waitUntilReady();
    events.on('completed', ({ jobId }) => finished.done(jobId));
  }
  try {
    return await lifecycles(async () => {
      const jobId = randomUUID();
      const done = finished.expect(jobId);
      const job = await queue.add('noop', {}, { jobId });
      await done;
      await job.remove();
    });
  } finally {
    await worker.close();
    await events?.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/**
 * pg-boss: send → fetch → no-op → complete → deleteJob. The worker loop is the engine's shape:
 * kicked after each send, it fetches while fewer than IN_FLIGHT jobs run, completes each job on
 * its own and says so once the completion has committed.
 */
async function pgbossRate(): Promise<number> {
  const database = testDatabaseUrl(tempDir('dcs-bench-pgboss-'), 'postgres');
  const { url, schema } = parsePostgresUrl(database);
  const boss = new PgBoss({ connectionString: url, schema: schema!, max: 10, supervise: false, schedule: false });
  boss.on('error', (err) => console.error('pg-boss:', err));
  await boss.start();
  const queue = 'noop';
  await boss.createQueue(queue);
  const finished = new Finished();
  let running = 0;
  let fetching = false;
  let again = false;
  const kick = (): void => {
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    void (async () => {
      while (running < IN_FLIGHT) {
        const jobs = await boss.fetch(queue, { batchSize: IN_FLIGHT - running });
        if (!jobs.length) break;
        for (const job of jobs) {
          running++;
          void (async () => {
            await noStep(job.data);
            await boss.complete(queue, job.id);
            running--;
            finished.done(job.id);
          })();
        }
      }
    })().finally(() => {
      fetching = false;
      if (again) {
        again = false;
        kick();
      }
    });
  };
  try {
    return await lifecycles(async () => {
      const id = randomUUID();
      const done = finished.expect(id);
      await boss.send(queue, {}, { id });
      kick();
      await done;
      await boss.deleteJob(queue, id);
    });
  } finally {
    await boss.stop({ graceful: false, wait: true });
    await dropDatabase(database);
  }
}

const pad = (s: string) => s.padEnd(44);
const row = (name: string, rate: number, what: string) => console.log(`${pad(name)} ${rate.toFixed(0).padStart(7)} lifecycles/s  ${what}`);

const sqliteEngine = await engineRate(sqliteStoreOnThread(path.join(tempDir('dcs-bench-engine-'), 'dcs.db')));
const bullWorker = await bullmqRate('worker');
const bullEvents = await bullmqRate('queue-events');
let pgEngine = 0;
let pgboss = 0;
if (!SKIP_POSTGRES) {
  const database = testDatabaseUrl(tempDir('dcs-bench-engine-'), 'postgres');
  try {
    pgEngine = await engineRate(new PostgresStore(database));
  } finally {
    await dropDatabase(database);
  }
  pgboss = await pgbossRate();
}
console.log(machine());
console.log(`lifecycles=${TASKS} in_flight=${IN_FLIGHT}; completion told in-process for every ratio`);
row('dcs-tasks engine, SQLite', sqliteEngine, "create, lease, step, finish, audited delete: all fsync'd, store on its own thread");
row('BullMQ, Worker completed event (in-process)', bullWorker, 'Redis in memory, no fsync');
row('BullMQ, QueueEvents (cross-process)', bullEvents, 'reference only: a stream read by another connection');
if (!SKIP_POSTGRES) {
  row('dcs-tasks engine, PostgreSQL', pgEngine, 'same lifecycle; what is in flight goes in one statement per kind');
  row('pg-boss 10, same database', pgboss, 'send, fetch, complete, deleteJob: one commit each');
  console.log(`pg_engine_vs_pgboss_ratio=${(pgEngine / pgboss).toFixed(2)}`);
}
console.log(`engine_vs_bullmq_ratio=${(sqliteEngine / bullWorker).toFixed(2)}`);
