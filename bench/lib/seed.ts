/**
 * Bulk seeding for the benchmarks: one attached instance and `count` finished tasks, written
 * straight into the database before the service starts (a million through the API would take a
 * million operations). Task ids are a random prefix plus the row number in hex, so both stores
 * can generate them in SQL-speed loops and the caller can name any of them without a list.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { parsePostgresUrl } from '../../src/store/postgres.js';
import { openStore } from '../../test/helpers/db.js';

export interface SeededTasks {
  instanceId: string;
  count: number;
  /** Id of the i-th task (0 = oldest). */
  taskId(i: number): string;
  /** created_at of the i-th task: one millisecond apart, the newest just before seeding. */
  createdAt(i: number): number;
}

const COLUMNS = 'id, project_id, instance_id, instance_name, name, user_id, user_name, status, created_at, updated_at, started_at, finished_at';

export async function seedFinishedTasks(database: string, projectId: string, count: number): Promise<SeededTasks> {
  const store = await openStore(database); // the schema is the service's own
  const base = Date.now() - count;
  const instanceId = randomUUID();
  await store.insertInstance({
    id: instanceId, projectId, name: 'seeded', engine: 'Redis', engineVersion: '7.0', capacityGb: 1, host: '127.0.0.1',
    port: 1, status: 'RUNNING', managed: false, redisUrl: 'redis://127.0.0.1:1', password: null,
    pendingPassword: null, username: null, extra: {}, nodes: [], ownerNode: null, createdAt: base, launchedAt: base, updatedAt: base,
  });
  await store.close();
  const prefix = randomBytes(8).toString('hex');
  const seeded: SeededTasks = {
    instanceId, count,
    taskId: (i) => prefix + i.toString(16).padStart(16, '0'),
    createdAt: (i) => base + i,
  };
  if (database.startsWith('sqlite:')) seedSqlite(database.slice('sqlite:'.length), projectId, seeded);
  else await seedPostgres(database, projectId, prefix, base, seeded);
  return seeded;
}

/** One transaction of one prepared insert: about a second per 200,000 rows. */
function seedSqlite(file: string, projectId: string, s: SeededTasks): void {
  const db = new Database(file);
  try {
    // As the service does (SqliteDb): the counter trigger's statement journals stay in memory,
    // not a temporary file per insert (which made seeding a million take 80 s instead of 5).
    db.pragma('temp_store = MEMORY');
    const insert = db.prepare(`INSERT INTO tasks (${COLUMNS})
      VALUES (?, ?, ?, 'seeded', 'flushInstance', 'seed', 'seed', 'SUCCESS', ?, ?, ?, ?)`);
    db.transaction(() => {
      for (let i = 0; i < s.count; i++) {
        const t = s.createdAt(i);
        insert.run(s.taskId(i), projectId, s.instanceId, t, t, t, t);
      }
    })();
  } finally {
    db.close();
  }
}

/** One INSERT … SELECT over generate_series: the rows never cross the wire. */
async function seedPostgres(database: string, projectId: string, prefix: string, base: number, s: SeededTasks): Promise<void> {
  const { url, schema } = parsePostgresUrl(database);
  const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    await c.query(
      `INSERT INTO tasks (${COLUMNS})
       SELECT $1 || lpad(to_hex(i), 16, '0'), $2, $3, 'seeded', 'flushInstance', 'seed', 'seed', 'SUCCESS',
              $4::bigint + i, $4::bigint + i, $4::bigint + i, $4::bigint + i
       FROM generate_series(0, $5::int - 1) AS i`,
      [prefix, projectId, s.instanceId, base, s.count],
    );
    // As autovacuum leaves a table in steady state: statistics, and a visibility map that lets
    // deep offsets walk the index alone (a fresh bulk load has none: every entry visits the heap,
    // and autovacuum would otherwise start on the million rows in the middle of the measurement).
    await c.query('VACUUM ANALYZE tasks');
  } finally {
    await c.end();
  }
}
