/**
 * Seeds a data directory with one attached instance and many finished tasks, before the service
 * starts. Bulk SQL in one transaction: going through the API would take one operation per task.
 */
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite.js';

export interface Seeded {
  instanceId: string;
  taskIds: string[];
}

/** `ageMs`: how long ago the tasks finished (retention tests). */
export async function seedFinishedTasks(dataDir: string, projectId: string, count: number, redisPort = 1, ageMs = 0): Promise<Seeded> {
  const file = path.join(dataDir, 'dcs.db');
  const store = new SqliteStore(file);
  await store.migrate(); // the schema is the service's own
  const now = Date.now();
  const instanceId = randomUUID();
  await store.insertInstance({
    id: instanceId, projectId, name: 'seeded', engine: 'Redis', engineVersion: '7.0', capacityGb: 1, host: '127.0.0.1',
    port: redisPort, status: 'RUNNING', managed: false, redisUrl: `redis://127.0.0.1:${redisPort}`, password: null,
    pendingPassword: null, username: null, extra: {}, nodes: [], ownerNode: null, createdAt: now, updatedAt: now,
  });
  await store.close();
  const db = new Database(file);
  const insert = db.prepare(
    `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, user_id, user_name, status, created_at, updated_at, started_at, finished_at)
     VALUES (?, ?, ?, 'seeded', 'flushInstance', 'seed', 'seed', 'SUCCESS', ?, ?, ?, ?)`,
  );
  const taskIds: string[] = [];
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = randomBytes(16).toString('hex');
      taskIds.push(id);
      const t = now - ageMs - count + i;
      insert.run(id, projectId, instanceId, t, t, t, t);
    }
  })();
  db.close();
  return { instanceId, taskIds };
}
