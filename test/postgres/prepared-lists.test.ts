/**
 * The PostgreSQL listing runs prepared statements (planned once per connection). A column added
 * to the tasks table under a prepared page (another node migrating to a newer release) changes
 * the page's result type: PostgreSQL refuses to run the old plan, and the store runs the
 * statement once more unprepared instead of failing the list, then prepares it under a new name.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PostgresStore } from '../../src/store/postgres.js';
import type { PgDb } from '../../src/store/postgres/db.js';
import { tempDir } from '../helpers/service.js';
import { dropDatabase, query, testDatabaseUrl } from '../helpers/db.js';

const url = testDatabaseUrl(tempDir(), 'postgres');
// One connection: the statement prepared by the first list is the one the second list meets.
const store = new PostgresStore(url, { poolSize: 1 });

after(async () => {
  await store.close();
  await dropDatabase(url);
});

test('a list prepared before the tasks table changed still answers after it', async () => {
  await store.migrate();
  const now = Date.now();
  const id = randomUUID();
  await query(url, `INSERT INTO tasks (id, project_id, instance_id, instance_name, name, user_id, user_name, status, created_at, updated_at)
    VALUES ($1, 'p1', 'i1', 'i', 'flushInstance', 'u', 'u', 'SUCCESS', $2, $2)`, [id, now]);
  const before = await store.listTasks({ projectId: 'p1', offset: 0, limit: 10 });
  assert.deepEqual(before.tasks.map((t) => t.id), [id]);

  // The names of the page statements prepared on the store's one connection.
  const preparedPages = async () => (await (store as unknown as { db: PgDb }).db.q('SELECT name, statement FROM pg_prepared_statements'))
    .filter((r) => String(r.statement).includes('steps_json')).map((r) => String(r.name));
  const pagesBefore = await preparedPages();
  assert.equal(pagesBefore.length, 1);

  await query(url, 'ALTER TABLE tasks ADD COLUMN added_by_a_newer_release TEXT');
  for (let k = 0; k < 3; k++) {
    const afterChange = await store.listTasks({ projectId: 'p1', offset: 0, limit: 10 });
    assert.equal(afterChange.total, 1);
    assert.deepEqual(afterChange.tasks.map((t) => t.id), [id]);
  }
  // The page is prepared again under a new name, not retried unprepared on every list.
  const pagesAfter = await preparedPages();
  assert.ok(pagesAfter.some((n) => !pagesBefore.includes(n)), `a new name for the page: before ${pagesBefore}, after ${pagesAfter}`);
});
