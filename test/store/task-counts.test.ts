/**
 * Task counts kept in buckets (schema migration 14, src/store/task-counts.ts), on both stores:
 * every count and page of listTasks equals a plain scan of the tasks, for windows cut at any
 * millisecond and offsets deep enough to be located through the buckets; rows inserted by raw SQL
 * (as a bulk load would) and removed by a delete or a purge are counted by the triggers; the
 * counts stay exact while two connections create and delete tasks at the same time; and a database
 * counted before minute buckets (schema version 16) lists exactly once migration 17 has added them.
 * The deletion audit's count (migration 18) likewise: exact after the upgrade, under concurrent
 * deletes and purges.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { InstanceRecord } from '../../src/instances/records.js';
import type { Store, TaskQuery } from '../../src/store/types.js';
import { dropDatabase, migratedUpTo, openStore, query, testDatabaseUrl, writeRaw } from '../helpers/db.js';
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
    username: null, extra: {}, nodes: [], ownerNode: null, createdAt: now, launchedAt: now, updatedAt: now,
  };
}

/** Finished tasks written by plain INSERTs, outside the store (as a bulk load or another tool would). */
async function insertRaw(url: string, rows: Seeded[]): Promise<void> {
  const values = rows.map((r) => [r.id, r.projectId, r.instanceId, r.createdAt]);
  const sql = `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, user_id, user_name, status, created_at, updated_at, finished_at)
    VALUES `;
  await writeRaw(url, (db) => {
    const insert = db.prepare(`${sql} (?, ?, ?, 'i', 'flushInstance', 'u', 'u', 'SUCCESS', ?, 0, ?)`);
    values.forEach((v) => insert.run(...v, v[3]));
  }, async (c) => {
    await c.query(`${sql.replace('VALUES', '')} SELECT id, p, i, 'i', 'flushInstance', 'u', 'u', 'SUCCESS', t, 0, t
      FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS v(id, p, i, t)`,
    [0, 1, 2, 3].map((k) => values.map((v) => v[k])));
  });
}

/** Audit rows written by plain INSERTs, in order (as an older release wrote them). */
async function insertRawAudit(url: string, rows: { projectId: string; taskId: string }[]): Promise<void> {
  const sql = `INSERT INTO task_audit (project_id, task_id, instance_id, task_name, last_status, actor_id, actor_name, message, deleted_at)
    VALUES ($1, $2, 'i', 'flushInstance', 'SUCCESS', 'u', 'u', NULL, 0)`;
  await writeRaw(url, (db) => {
    const insert = db.prepare(sql.replace(/\$\d/g, '?'));
    rows.forEach((r) => insert.run(r.projectId, r.taskId));
  }, async (c) => {
    for (const r of rows) await c.query(sql, [r.projectId, r.taskId]);
  });
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
      let removed = 0;
      for (let n = 64; n === 64;) removed += n = await store.purgeFinishedBefore(purgeBefore, by, 64); // chunks, as the service purges
      assert.equal(removed, purged);
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

    test('a database counted before minute buckets lists exactly after migration 17, and stays exact', async () => {
      const url = testDatabaseUrl(tempDir(), kind);
      await migratedUpTo(url, 16);
      const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
      const inst = instance('p1');
      const [projectId, instanceId] = [inst.projectId, inst.id];
      // 2,000 tasks spread over one hour: an offset past the first few hundred is found through
      // the buckets inside that hour, minutes included once they exist.
      const rnd = random(17);
      const all: Seeded[] = Array.from({ length: 2000 }, () => ({ id: randomBytes(8).toString('hex'), projectId, instanceId, createdAt: hour + Math.floor(rnd() * 3_600_000) }));
      await insertRaw(url, all);
      const [before] = await query(url, 'SELECT COUNT(*) AS n FROM task_counts WHERE span = 60');
      assert.equal(Number(before!.n), 0, 'version 16 keeps no minute buckets');

      const store = await openStore(url); // migrates to the latest version
      opened.push({ store, url });
      await store.insertInstance(inst);
      const perMinute = async () => Object.fromEntries((await query(url,
        `SELECT bucket, n FROM task_counts WHERE span = 60 AND project_id = '${projectId}' AND instance_id = '${instanceId}' AND n <> 0 ORDER BY bucket`))
        .map((r) => [String(r.bucket), Number(r.n)]));
      const scanned = () => {
        const out: Record<string, number> = {};
        for (const t of all) out[String(Math.floor(t.createdAt / 60_000) * 60)] = (out[String(Math.floor(t.createdAt / 60_000) * 60)] ?? 0) + 1;
        return out;
      };
      assert.deepEqual(await perMinute(), scanned(), 'the minutes summed from the seconds');
      for (const offset of [0, 300, 999, 1500, 1990]) {
        await assertListsMatch(store, all, { projectId, instanceId, offset, limit: 10 });
        await assertListsMatch(store, all, { projectId, offset, limit: 10 });
      }
      // The re-created triggers count minutes for deletes and new rows.
      for (const t of all.splice(0, 200)) assert.equal(await store.deleteFinishedTask(projectId, t.id, instanceId, by), 'deleted');
      const more: Seeded[] = Array.from({ length: 100 }, () => ({ id: randomBytes(8).toString('hex'), projectId, instanceId, createdAt: hour + Math.floor(rnd() * 3_600_000) }));
      await insertRaw(url, more);
      all.push(...more);
      assert.deepEqual(await perMinute(), scanned(), 'minutes kept by the triggers');
      for (const offset of [0, 450, 1200, 1890]) await assertListsMatch(store, all, { projectId, instanceId, offset, limit: 7 });
    });

    test('the audit of a database from version 17 pages and counts exactly after migration 18, and stays exact', async () => {
      const url = testDatabaseUrl(tempDir(), kind);
      await migratedUpTo(url, 17);
      const written = Array.from({ length: 45 }, (_, k) => ({ projectId: k % 3 === 0 ? 'p2' : 'p1', taskId: `t${k}` }));
      await insertRawAudit(url, written);
      const store = await openStore(url); // migrates to the latest version
      opened.push({ store, url });
      const newestFirst = (p: string) => written.filter((r) => r.projectId === p).map((r) => r.taskId).reverse();
      for (const offset of [0, 7, 22, 29, 30, 31]) {
        const page = await store.listAuditPage('p1', offset, 8);
        assert.equal(page.total, 30, 'counted from the rows already there');
        assert.deepEqual(page.records.map((r) => r.taskId), newestFirst('p1').slice(offset, offset + 8), `page at ${offset}`);
      }
      assert.equal((await store.listAuditPage('p2', 0, 100)).total, 15);
      assert.equal((await store.listAuditPage('p3', 0, 100)).total, 0);
      // New audit rows are counted by the trigger: a delete, and a purge (several rows in one statement).
      const inst = instance('p1');
      await store.insertInstance(inst);
      const tasks: Seeded[] = Array.from({ length: 4 }, (_, k) => ({ id: randomBytes(8).toString('hex'), projectId: 'p1', instanceId: inst.id, createdAt: Date.now() - 10_000 + k }));
      await insertRaw(url, tasks);
      assert.equal(await store.deleteFinishedTask('p1', tasks[3]!.id, inst.id, by), 'deleted');
      assert.equal(await store.purgeFinishedBefore(Date.now() + 1, by, 10), 3);
      const after = await store.listAuditPage('p1', 0, 5);
      assert.equal(after.total, 34);
      assert.deepEqual(after.records[4]!.taskId, newestFirst('p1')[0], 'the older rows follow the new ones');
      assert.equal(after.records[3]!.taskId, tasks[3]!.id);
    });

    test('two connections purging at once, a chunk at a time: each expired task goes once, audited once', async () => {
      const { store, url } = await fresh();
      const second = await openStore(url);
      opened.unshift({ store: second, url });
      const i = instance('p1');
      await store.insertInstance(i);
      const cutoff = Date.now();
      const seeded = (n: number, from: number): Seeded[] =>
        Array.from({ length: n }, (_, k) => ({ id: randomBytes(8).toString('hex'), projectId: 'p1', instanceId: i.id, createdAt: from + k }));
      const expired = seeded(1_200, cutoff - 100_000);
      const kept = seeded(30, cutoff); // finished at the cutoff or after: not before it
      await insertRaw(url, [...expired, ...kept]);
      const purgeAll = async (s: Store) => {
        let total = 0;
        for (let n = 100; n === 100;) total += n = await s.purgeFinishedBefore(cutoff, by, 100);
        return total;
      };
      const [a, b] = await Promise.all([purgeAll(store), purgeAll(second)]);
      assert.equal(a + b, expired.length);
      assert.equal((await store.listAuditPage('p1', 0, 1)).total, expired.length, 'counted once each');
      const audit = await query(url, 'SELECT task_id FROM task_audit');
      assert.deepEqual(audit.map((r) => String(r.task_id)).sort(), expired.map((t) => t.id).sort(), 'each audited exactly once');
      const left = await store.listTasks({ projectId: 'p1', instanceId: i.id, offset: 0, limit: 100 });
      assert.equal(left.total, kept.length);
      assert.deepEqual(left.tasks.map((t) => t.id).sort(), kept.map((t) => t.id).sort());
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
      assert.equal((await second.listAuditPage('p1', 0, 1)).total, 400, 'the audit counted once per delete');
      const [{ n }] = await query(url, 'SELECT COUNT(*) AS n FROM tasks');
      assert.equal(Number(n), 20);
      assert.equal((await store.listTasks({ projectId: 'p1', offset: 0, limit: 1 })).total, 20);
      for (const i of instances) assert.equal((await second.listTasks({ projectId: 'p1', instanceId: i.id, offset: 0, limit: 5 })).total, 1);
      assert.equal((await store.listTasks({ projectId: 'p1', from: now - 5000, to: now - 1, offset: 0, limit: 5 })).total, 0);
      const purged = await store.purgeFinishedBefore(Date.now() + 1, by, 1000);
      assert.equal(purged, 0, 'the new tasks are not finished');
    });
  });
}
