/**
 * The PostgreSQL store keeps connections of its own for the health probe, lease renewals and node
 * heartbeats: with every pooled connection busy (deep lists can hold them all), those still answer
 * at once, while an ordinary read waits for the pool.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresStore } from '../../src/store/postgres.js';
import type { PgDb } from '../../src/store/postgres/db.js';
import { tempDir } from '../helpers/service.js';
import { dropDatabase, testDatabaseUrl } from '../helpers/db.js';

const url = testDatabaseUrl(tempDir(), 'postgres');
const store = new PostgresStore(url, { poolSize: 3 });

after(async () => {
  await store.close();
  await dropDatabase(url);
});

test('ping, lease renewals and heartbeats do not queue behind a busy pool', async () => {
  await store.migrate();
  const { pool } = (store as unknown as { db: PgDb }).db;
  const held = await Promise.all(Array.from({ length: 3 }, () => pool.connect()));
  const t0 = Date.now();
  const busy = held.map((c) => c.query('SELECT pg_sleep(2)'));
  const pooledRead = store.getInstance('p', 'no-such-instance').then(() => Date.now() - t0);
  let controlMs: number;
  try {
    await store.ping();
    assert.deepEqual(await store.renewLeases('owner', ['no-such-task'], 1000, Date.now()), []);
    await store.nodes.heartbeatNode('node-a', Date.now());
    controlMs = Date.now() - t0;
  } finally {
    // Whatever happened above, the pool gets its connections back (else closing it never ends).
    await Promise.allSettled(busy);
    for (const c of held) c.release();
  }
  const readMs = await pooledRead;
  assert.ok(readMs >= 1500, `the pool was not full (an ordinary read took ${readMs} ms)`);
  assert.ok(controlMs < 1200, `the control calls waited for the pool (${controlMs} ms)`);
  assert.ok((await store.nodes.nodeHeartbeats()).has('node-a'));
});
