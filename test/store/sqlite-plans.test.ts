/**
 * Statements that run at any size must read a few index pages, not every row: SQLite's own plan
 * for each says which it does. The retention purge runs every minute on the writer (a full pass
 * took ~0.45 s at a million tasks, holding every write behind it); a page of the deletion audit
 * sorted and counted every audit row of the project (0.7-1.3 s at a million).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import * as plans from '../../src/store/sqlite/plans.js';
import { openStore, testDatabaseUrl } from '../helpers/db.js';
import { tempDir } from '../helpers/service.js';

/** SQLite's plan for `sql` on the service's own schema, one line per step. */
async function planOf(sql: string, ...args: unknown[]): Promise<string[]> {
  const url = testDatabaseUrl(tempDir(), 'sqlite');
  await (await openStore(url)).close();
  const db = new Database(url.slice('sqlite:'.length), { readonly: true });
  try {
    return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail);
  } finally {
    db.close();
  }
}

test('SQLite finds expired tasks through tasks_name_finished, name by name, never by a pass over the tasks', async () => {
  const plan = await planOf(plans.expiredTaskIds, 0, 500);
  const onTasks = plan.filter((d) => /\b(t|tasks)\b/.test(d));
  assert.ok(onTasks.length > 0, plan.join('\n'));
  for (const d of onTasks) assert.match(d, /^SEARCH .*USING (COVERING )?INDEX tasks_name_finished/, `a full pass over the tasks:\n${plan.join('\n')}`);
});

test('SQLite pages and counts the deletion audit through an index and the counters, never sorting or scanning it', async () => {
  for (const [sql, args] of [[plans.auditPageOfProject, ['p1', 'p1', 100_000, 10]], [plans.auditCountOfProject, ['p1']]] as const) {
    const plan = await planOf(sql, ...args);
    const text = plan.join('\n');
    assert.doesNotMatch(text, /TEMP B-TREE|^SCAN (?!CONSTANT ROW)/m, `a sort or a full pass:\n${text}`);
    for (const d of plan.filter((x) => /task_audit\b/.test(x))) assert.match(d, /USING (COVERING )?INDEX task_audit_project_id/, text);
  }
});
