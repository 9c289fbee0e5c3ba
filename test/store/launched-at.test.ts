/**
 * Schema migration 19 (instances' launched_at) on both stores: a database written by an older
 * release keeps, for every instance that has run, its creation time as the launch — the best that
 * is known of it — and none for one that never ran; from then on the first RUNNING sets it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { dropDatabase, migratedUpTo, openStore, testDatabaseUrl, writeRaw } from '../helpers/db.js';
import { tempDir } from '../helpers/service.js';
import type { Store } from '../../src/store/types.js';

const opened: { store: Store; url: string }[] = [];
after(async () => {
  for (const { store, url } of opened) {
    await store.close();
    await dropDatabase(url);
  }
});

const INSERT = `INSERT INTO instances (id, project_id, name, engine, engine_version, capacity_gb, host, port, status, managed, created_at, updated_at)
  VALUES ($1, 'p1', 'i', 'Redis', '7.0', 1, '127.0.0.1', 6400, $2, $3, $4, $5)`;

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`${kind}: instances of an older release get launched_at on upgrade, and only those that ran`, async () => {
    const url = testDatabaseUrl(tempDir(), kind);
    await migratedUpTo(url, 18);
    const rows = [
      { id: randomUUID(), status: 'RUNNING', createdAt: 1000, updatedAt: 5000 },
      { id: randomUUID(), status: 'ERROR', createdAt: 2000, updatedAt: 6000 },
      { id: randomUUID(), status: 'CREATING', createdAt: 3000, updatedAt: 3000 },
      { id: randomUUID(), status: 'CREATEFAILED', createdAt: 4000, updatedAt: 7000 },
    ];
    await writeRaw(url, (db) => {
      const insert = db.prepare(INSERT.replace(/\$\d/g, '?'));
      for (const r of rows) insert.run(r.id, r.status, 0, r.createdAt, r.updatedAt);
    }, async (c) => {
      for (const r of rows) await c.query(INSERT, [r.id, r.status, false, r.createdAt, r.updatedAt]);
    });
    const store = await openStore(url);
    opened.push({ store, url });
    const launched = async (id: string) => (await store.getInstance('p1', id))?.launchedAt;
    assert.deepEqual(await Promise.all(rows.map((r) => launched(r.id))), [1000, 2000, null, null]);
    await store.updateInstance(rows[2]!.id, { status: 'RUNNING', updatedAt: 8000 });
    assert.equal(await launched(rows[2]!.id), 8000);
  });
}
