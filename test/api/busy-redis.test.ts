/**
 * A Redis too busy to answer (paused here; a FLUSHALL of millions of keys or a restore loading
 * look the same) does not hold up the reads that show live values beside the record: show,
 * list, statistics and parameters answer at once, with the last used memory Redis reported.
 * Once it is gone, a task on it fails saying so (an attached Redis has no supervisor).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { client, waitFor, type Client } from '../helpers/client.js';
import { attachRunningRedis } from '../helpers/instance.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startService, type Service } from '../helpers/service.js';

let svc: Service;
let admin: Client;
let redis: TestRedis;
let id: string;
const P = '{p}';

before(async () => {
  svc = await startService();
  admin = client(svc.url, svc.admin);
  redis = await startRedis();
  id = await attachRunningRedis(admin, 'busy-redis', redis.url);
});

after(async () => {
  await svc?.stop();
  await redis?.stop();
});

test('show, list, statistics and parameters answer within a second while the Redis is paused for 6 s', async () => {
  const c = redis.client();
  await c.set('big', 'x'.repeat(3 * 1024 * 1024)); // 3 MB: used_memory shows at least 3
  // (Waited for: on a loaded machine one INFO may take longer than the 500 ms a show waits.)
  const shown = await waitFor(async () => {
    const mb = (await admin.get(`/v2/${P}/instances/${id}`)).body.used_memory;
    return mb >= 3 && mb;
  }, 10_000, 'used_memory of at least 3 MB');
  await c.call('CLIENT', 'PAUSE', '6000', 'ALL');
  try {
    for (const path of [`/instances/${id}`, '/instances', '/instances/statistic', `/instances/${id}/configs`]) {
      const started = Date.now();
      const r = await admin.get(`/v2/${P}${path}`);
      const took = Date.now() - started;
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.ok(took < 1500, `${path} took ${took} ms`);
      if (path === `/instances/${id}`) assert.equal(r.body.used_memory, shown, 'the last used memory Redis reported');
    }
  } finally {
    await c.call('CLIENT', 'UNPAUSE');
    c.disconnect();
  }
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${id}`)).body.status === 'RUNNING', 10_000, 'still running');
});

test('an attached Redis that is gone: a flush fails saying the Redis does not answer, not that a supervisor retries it', async () => {
  await redis.stop();
  const r = await admin.put(`/v2/${P}/instances/status`, { instances: [id], action: 'flush' });
  assert.equal(r.status, 200, r.text);
  const task = await waitFor(async () => {
    const t = (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks.find((x: any) => x.name === 'flushInstance');
    return t && (t.status === 'SUCCESS' || t.status === 'FAILED') && t;
  }, 30_000, 'the flush ended');
  assert.equal(task.status, 'FAILED');
  const job = (await admin.get(`/v2/${P}/jobs/${task.id}`)).body;
  assert.match(job.fail_reason, /The attached Redis is not answering at its address\./);
  assert.doesNotMatch(job.fail_reason, /supervisor/);
});
