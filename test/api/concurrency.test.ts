/** Deletes are exactly-once: 20 concurrent deletes of one task give one 200 and nineteen 404s. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { client } from '../helpers/client.js';
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
