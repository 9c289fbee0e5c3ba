/**
 * SQLite as the service runs it, on threads: a read that walks a whole index (the counts by
 * status behind a /metrics scrape) runs beside the lists, not in front of them.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, testDatabaseUrl } from '../helpers/db.js';
import { tempDir } from '../helpers/service.js';
import { seedFinishedTasks } from '../helpers/seed.js';
import type { Store } from '../../src/store/types.js';

let store: Store | undefined;
after(async () => store?.close());

test('a list sent after a whole-table count is answered first: it does not queue behind the count', async () => {
  const url = testDatabaseUrl(tempDir(), 'sqlite');
  const seeded = await seedFinishedTasks(url, 'p1', 100_000); // enough for the count to take tens of ms
  store = await openStore(url, { threads: true });
  const list = () => store!.listTasks({ projectId: 'p1', instanceId: seeded.instanceId, offset: 0, limit: 10 });
  const order: string[] = [];
  const counted = store.countTasksByStatus().then((c) => { order.push('count'); return c; });
  const listed = list().then((l) => { order.push('list'); return l; });
  const [counts, page] = await Promise.all([counted, listed]);
  assert.equal(counts.SUCCESS, 100_000);
  assert.equal(page.total, 100_000);
  assert.deepEqual(order, ['list', 'count']);
});
