/**
 * The retention purge runs every minute on the writer: with nothing to remove it must read a few
 * index pages, not every finished task (a full pass took ~0.45 s at a million tasks, holding every
 * write behind it). SQLite's own plan for the statement says which it does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import * as plans from '../../src/store/sqlite/plans.js';
import { openStore, testDatabaseUrl } from '../helpers/db.js';
import { tempDir } from '../helpers/service.js';

test('SQLite finds expired tasks through tasks_name_finished, name by name, never by a pass over the tasks', async () => {
  const url = testDatabaseUrl(tempDir(), 'sqlite');
  await (await openStore(url)).close(); // the service's own schema
  const db = new Database(url.slice('sqlite:'.length), { readonly: true });
  try {
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${plans.expiredTaskIds}`).all(0, 500) as { detail: string }[]).map((r) => r.detail);
    const onTasks = plan.filter((d) => /\b(t|tasks)\b/.test(d));
    assert.ok(onTasks.length > 0, plan.join('\n'));
    for (const d of onTasks) assert.match(d, /^SEARCH .*USING (COVERING )?INDEX tasks_name_finished/, `a full pass over the tasks:\n${plan.join('\n')}`);
  } finally {
    db.close();
  }
});
