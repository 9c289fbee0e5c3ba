/**
 * Task counts kept in buckets (schema migration 14, src/store/task-counts.ts), on both stores:
 * every count and page of listTasks equals a plain scan of the tasks, for windows cut at any
 * millisecond and offsets deep enough to be located through the buckets; rows inserted by raw SQL
 * (as a bulk load would) and removed by a delete or a purge are counted by the triggers; and the
 * counts stay exact while two connections create and delete tasks at the same time.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { InstanceRecord } from '../../src/instances/records.js';
import type { Store, TaskQuery } from '../../src/store/types.js';
import { parsePostgresUrl } from '../../src/store/postgres.js';
import { dropDatabase, openStore, query, testDatabaseUrl } from '../helpers/db.js';
import { tempDir } from '../helpers/service.js';

const opened: { store: Store; url: string }[] = [];
after(async () => {
  for (const { store, url } of opened) {
    await store.close();
    await dropDatabase(url);
  }
});

const DAY = 86_400_000;
const by = { userId: 'u1', userName: 'alice', message: null };

interface Seeded { id: string; projectId: string; instanceId: string; createdAt: number }

function instance(projectId: string): InstanceRecord {
  const now = Date.now();
  return {
    id: randomUUID(), projectId, name: 'i', engine: 'Redis', engineVersion: '7.0', capacityGb: 1, host: '127.0.0.1',
    port: 6400, status: 'RUNNING', managed: false, redisUrl: 'redis://127.0.0.1:6400', password: null, pendingPassword: null,
    username: null, extra: {}, nodes: [], ownerNode: null, createdAt: now, updatedAt: now,
  };
}

/** Finished tasks written by plain INSERTs, outside the store (as a bulk load or another tool would). */
async function insertRaw(url: string, rows: Seeded[]): Promise<void> {
  const values = rows.map((r) => [r.id, r.projectId, r.instanceId, r.createdAt]);
  const sql = `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, user_id, user_name, status, created_at, updated_at, finished_at)
    VALUES `;
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length));
    const insert = db.prepare(`${sql} (?, ?, ?, 'i', 'flushInstance', 'u', 'u', 'SUCCESS', ?, 0, ?)`);
    db.transaction(() => values.forEach((v) => insert.run(...v, v[3])))();
    db.close();
    return;
  }
  const { url: conn, schema } = parsePostgresUrl(url);
  const c = new pg.Client({ connectionString: conn, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    await c.query(`${sql.replace('VALUES', '')} SELECT id, p, i, 'i', 'flushInstance', 'u', 'u', 'SUCCESS', t, 0, t
      FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS v(id, p, i, t)`,
    [0, 1, 2, 3].map((k) => values.map((v) => v[k])));
  } finally {
    await c.end();
  }
}

/** What a plain scan says: the tasks of the query's scope and window, newest first. */
function scan(all: Seeded[], q: TaskQuery): Seeded[] {
  return all
    .filter((t) => t.projectId === q.projectId && (q.instanceId === undefined || t.instanceId === q.instanceId))
    .filter((t) => (q.from === undefined || t.createdAt >= q.from) && (q.to === undefined || t.createdAt <= q.to))
    .sort((a, b) => b.createdAt - a.createdAt || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0));
}

async function assertListsMatch(store: Store, all: Seeded[], q: TaskQuery): Promise<void> {
  const want = scan(all, q);
  const got = await store.listTasks(q);
  const label = JSON.stringify(q);
  assert.equal(got.total, want.length, `task_count of ${label}`);
  assert.deepEqual(got.tasks.map((t) => t.id), want.slice(q.offset, q.offset + q.limit).map((t) => t.id), `page of ${label}`);
}

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`${kind} task counts`, () => {
    const fresh = async () => {
      const url = testDatabaseUrl(tempDir(), kind);
      const store = await openStore(url);
      opened.push({ store, url });
      return { store, url };
    };

    test('counts and pages equal a scan, for windows cut at any millisecond and offsets deep in the buckets', async () => {
      const { store, url } = await fresh();
      const rnd = random(14);
      const [a, b, other] = [instance('p1'), instance('p1'), instance('p2')];
      for (const i of [a, b, other]) await store.insertInstance(i);
      // Around three days: clusters inside one second, one hour, across midnights, and a few equal times.
      const start = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
      const all: Seeded[] = [];
      for (let k = 0; k < 3000; k++) {
        const cluster = k % 3 === 0 ? start + DAY - 500 + Math.floor(rnd() * 1000) : k % 3 === 1 ? start + DAY + Math.floor(rnd() * 3_600_000) : start + Math.floor(rnd() * 3 * DAY);
        const owner = [a, a, b, other][k % 4]!;
        all.push({ id: randomBytes(8).toString('hex'), projectId: owner.projectId, instanceId: owner.id, createdAt: k % 50 === 0 ? start + DAY : cluster });
      }
      await insertRaw(url, all);
      // Some go one by one, the oldest by a purge.
      for (const t of all.splice(0, 300)) assert.equal(await store.deleteFinishedTask(t.projectId, t.id, t.instanceId, by), 'deleted');
      const purgeBefore = start + 6 * 3_600_000;
      const purged = all.filter((t) => t.createdAt < purgeBefore).length;
      assert.ok(purged > 50);
      assert.equal(await store.purgeFinishedBefore(purgeBefore, by), purged);
      all.splice(0, all.length, ...all.filter((t) => t.createdAt >= purgeBefore));

      const times = [undefined, start, start + DAY - 1, start + DAY, start + DAY + 1, start + DAY - 250, start + DAY + 1_800_000, start + 3 * DAY];
      for (let k = 0; k < 12; k++) times.push(start + Math.floor(rnd() * 3 * DAY));
      const offsets = [0, 5, 255, 256, 257, 700, 1100, 1500, 2690, 5000];
      for (const scope of [{ projectId: 'p1' }, { projectId: 'p1', instanceId: a.id }, { projectId: 'p1', instanceId: b.id }, { projectId: 'p2' }]) {
        for (let k = 0; k < 25; k++) {
          let [from, to] = [times[Math.floor(rnd() * times.length)], times[Math.floor(rnd() * times.length)]];
          if (from !== undefined && to !== undefined && to < from) [from, to] = [to, from];
          const offset = offsets[k % offsets.length]!;
          await assertListsMatch(store, all, { ...scope, from, to, offset, limit: 1 + Math.floor(rnd() * 20) });
        }
      }
    });

    test('counts stay exact while two connections create and delete tasks at once', async () => {
      const { store, url } = await fresh();
      const second = await openStore(url);
      opened.unshift({ store: second, url });
      const instances = Array.from({ length: 20 }, () => instance('p1'));
      for (const i of instances) await store.insertInstance(i);
      const now = Date.now();
      const old: Seeded[] = Array.from({ length: 400 }, (_, k) => ({
        id: randomBytes(8).toString('hex'), projectId: 'p1', instanceId: instances[k % 20]!.id, createdAt: now - 5000 + k,
      }));
      await insertRaw(url, old);
      // Each old task deleted from both connections at once (one wins), while new tasks are created on both.
      const outcomes = await Promise.all([
        ...old.flatMap((t) => [store, second].map((s) => s.deleteFinishedTask('p1', t.id, t.instanceId, by))),
        ...instances.map((i, k) => (k % 2 ? store : second).createTask({
          id: randomBytes(8).toString('hex'), projectId: 'p1', instanceId: i.id, instanceName: 'i', name: 'flushInstance', details: {},
          userId: 'u', userName: 'u', params: '{}', state: {}, createdAt: now + k, steps: ['one'],
        }, { refuseStatuses: [] })),
      ]);
      assert.equal(outcomes.filter((o) => o === 'deleted').length, 400, 'each old task deleted exactly once');
      const [{ n }] = await query(url, 'SELECT COUNT(*) AS n FROM tasks');
      assert.equal(Number(n), 20);
      assert.equal((await store.listTasks({ projectId: 'p1', offset: 0, limit: 1 })).total, 20);
      for (const i of instances) assert.equal((await second.listTasks({ projectId: 'p1', instanceId: i.id, offset: 0, limit: 5 })).total, 1);
      assert.equal((await store.listTasks({ projectId: 'p1', from: now - 5000, to: now - 1, offset: 0, limit: 5 })).total, 0);
      const purged = await store.purgeFinishedBefore(Date.now() + 1, by);
      assert.equal(purged, 0, 'the new tasks are not finished');
    });
  });
}
