/**
 * Deletes are exactly-once: 20 concurrent deletes of one task give one 200 and nineteen 404s; an
 * instance delete racing an operation on it never lets both be acknowledged.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { client, waitFor } from '../helpers/client.js';
import { startRedis } from '../helpers/redis.js';
import { prepareDataDir, startService, type Service } from '../helpers/service.js';
import { seedFinishedTasks, type Seeded } from '../helpers/seed.js';

let svc: Service;
let seeded: Seeded;

before(async () => {
  const { dataDir, project, database } = prepareDataDir();
  seeded = await seedFinishedTasks(database, project, 10);
  svc = await startService({ dataDir, database });
});

after(async () => {
  await svc?.stop();
});

test('20 concurrent deletes of one task: exactly one 200', async () => {
  const admin = client(svc.url, svc.admin);
  for (const id of seeded.taskIds.slice(0, 5)) {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      i % 2 ? admin.del(`/v2/{p}/instances/${seeded.instanceId}/tasks/${id}`) : admin.del(`/v2/{p}/tasks/${id}`)));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, ...Array(19).fill(404)]);
    for (const r of results.filter((x) => x.status === 404)) assert.equal(r.body.error_code, 'DCS.4001');
  }
  const left = await admin.get(`/v2/{p}/instances/${seeded.instanceId}/tasks`);
  assert.equal(left.body.task_count, '5');
});

test('deleting an instance racing a flush of it: never both acknowledged (100 tries)', async () => {
  const admin = client(svc.url, svc.admin);
  const redis = await startRedis();
  try {
    let flushed = 0;
    let deleted = 0;
    for (let i = 0; i < 100; i++) {
      const created = await admin.post('/v2/{p}/instances', {
        name: `race-${i}`, engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redis.url, no_password_access: true,
      });
      assert.equal(created.status, 200, created.text);
      const id = created.body.instances[0].instance_id;
      const [del, flush] = await Promise.all([
        admin.del(`/v2/{p}/instances/${id}`),
        admin.put('/v2/{p}/instances/status', { instances: [id], action: 'flush' }),
      ]);
      const deletedNow = del.status === 204;
      const flushedNow = flush.status === 200;
      assert.ok(!(deletedNow && flushedNow), `try ${i}: both acknowledged (${del.text} / ${flush.text})`);
      assert.ok(deletedNow || flushedNow, `try ${i}: neither acknowledged (${del.text} / ${flush.text})`);
      if (deletedNow) {
        deleted++;
        // The refused flush: the instance is gone (404) or was being deleted (busy code); no task for it.
        assert.ok(['DCS.3022', 'DCS.4026'].includes(flush.body.error_code), flush.text);
      } else {
        flushed++;
        assert.equal(del.status, 400, del.text);
        assert.equal(del.body.error_code, 'DCS.4026', del.text);
        // The acknowledged flush runs to its end on an instance that still exists.
        const tasks = (await admin.get(`/v2/{p}/instances/${id}/tasks`)).body.tasks;
        assert.equal(tasks.length, 1);
        const end = await waitFor(async () => {
          const j = (await admin.get(`/v2/{p}/jobs/${tasks[0].id}`)).body;
          return (j.status === 'SUCCESS' || j.status === 'FAIL') && j;
        });
        assert.equal(end.status, 'SUCCESS', JSON.stringify(end));
        assert.equal((await admin.del(`/v2/{p}/instances/${id}`)).status, 204);
      }
    }
    // Both orders happen on an idle machine; only the invariant above is required, but say what was seen.
    assert.equal(flushed + deleted, 100);
  } finally {
    await redis.stop();
  }
});
