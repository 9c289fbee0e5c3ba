/**
 * Seeds a database with one attached instance and many finished tasks, before the service
 * starts. Bulk inserts: going through the API would take one operation per task.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { parsePostgresUrl } from '../../src/store/postgres.js';
import { openStore } from './db.js';

export interface Seeded {
  instanceId: string;
  taskIds: string[];
}

/** `ageMs`: how long ago the tasks finished (retention tests). */
export async function seedFinishedTasks(database: string, projectId: string, count: number, redisPort = 1, ageMs = 0): Promise<Seeded> {
  const store = await openStore(database); // the schema is the service's own
  const now = Date.now();
  const instanceId = randomUUID();
  await store.insertInstance({
    id: instanceId, projectId, name: 'seeded', engine: 'Redis', engineVersion: '7.0', capacityGb: 1, host: '127.0.0.1',
    port: redisPort, status: 'RUNNING', managed: false, redisUrl: `redis://127.0.0.1:${redisPort}`, password: null,
    pendingPassword: null, username: null, extra: {}, nodes: [], ownerNode: null, createdAt: now, launchedAt: now, updatedAt: now,
  });
  await store.close();
  const rows = Array.from({ length: count }, (_, i) => ({ id: randomBytes(16).toString('hex'), t: now - ageMs - count + i }));
  const sql = `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, user_id, user_name, status, created_at, updated_at, started_at, finished_at)
     VALUES ($1, $2, $3, 'seeded', 'flushInstance', 'seed', 'seed', 'SUCCESS', $4, $4, $4, $4)`;
  if (database.startsWith('sqlite:')) {
    const db = new Database(database.slice('sqlite:'.length));
    // better-sqlite3 binds numbered parameters (?1) by object key.
    const insert = db.prepare(sql.replace(/\$(\d)/g, '?$1'));
    db.transaction(() => rows.forEach((r) => insert.run({ 1: r.id, 2: projectId, 3: instanceId, 4: r.t })))();
    db.close();
  } else {
    const { url, schema } = parsePostgresUrl(database);
    const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await c.connect();
    await c.query('BEGIN');
    for (const r of rows) await c.query(sql, [r.id, projectId, instanceId, r.t]);
    await c.query('COMMIT');
    await c.end();
  }
  return { instanceId, taskIds: rows.map((r) => r.id) };
}
