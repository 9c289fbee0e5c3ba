/**
 * A restore whose node is killed (kill -9) after it set the instance's data aside, on two nodes
 * sharing PostgreSQL. The other node fails the task once the dead node's heartbeat is stale (the
 * restore's own failure handling, which puts the data back, runs nowhere); when the dead node
 * returns it must put the data back before it starts the instance: a failed restore leaves the
 * previous data (records.md), not an empty Redis or the backup's data.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { makeCredential, startService, tempDir, type Service } from '../helpers/service.js';
import { dropDatabase, testDatabaseUrl } from '../helpers/db.js';
import { createRunningInstance } from '../helpers/instance.js';

/** Each step waits this long first: the kill lands inside the step named, before its work. */
const env = { DCS_LEASE_MS: '3000', DCS_STEP_DELAY_MS: '2000' };
const database = testDatabaseUrl(tempDir(), 'postgres');
const project = randomBytes(16).toString('hex');
const alice = makeCredential(project, 'admin', 'alice');
const PASSWORD = 'Restore#Fail123';

let a: Service;
let b: Service;
let cb: Client;

before(async () => {
  a = await startService({ database, env, credentials: [alice] });
  b = await startService({ database, env, credentials: [alice] });
  cb = client(b.url, alice);
});

after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await dropDatabase(database);
});

async function keysAt(port: number): Promise<string[]> {
  const r = new Redis({ host: '127.0.0.1', port, password: PASSWORD, maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.keys('*')).sort();
  } finally {
    r.disconnect();
  }
}

async function write(port: number, prefix: string, n: number): Promise<void> {
  const r = new Redis({ host: '127.0.0.1', port, password: PASSWORD, maxRetriesPerRequest: 1 });
  for (let k = 0; k < n; k++) await r.set(`${prefix}:${k}`, String(k));
  // AOF everysec: wait until the writes are in the file, so they survive the server's stop.
  await waitFor(async () => /^aof_buffer_length:0\r?$/m.test(await r.info('persistence')), 10_000, 'AOF written');
  r.disconnect();
}

/**
 * Where the kill lands (restore tasks have no progress route: records.md). Step 1 stops Redis
 * and renames the data aside; step 2 installs the backup (progress 60) and starts Redis on it.
 * Each step first waits 2 s, so each condition below holds inside the next step's wait.
 */
const CASES = [
  ['2, before the backup is installed: Redis stopped, its data aside', async (aside: string, record: any, keys: () => Promise<string[] | null>) =>
    record.progress === '10.00' && fs.existsSync(aside) && (await keys()) === null],
  ['3, with the backup installed and served', async (_aside: string, record: any, keys: () => Promise<string[] | null>) =>
    record.progress === '60.00' && (await keys())?.length === 20],
] as const;

for (const [n, [where, ready]] of CASES.entries()) {
  test(`node killed in restore step ${where}; the other node fails the task: the previous data is back when the node returns`, { timeout: 180_000 }, async () => {
    const ca = client(a.url, alice);
    const { id, port } = await createRunningInstance(ca, `restore-failover-${n}`, PASSWORD);
    await write(port, 'in-backup', 20);
    const backup = await ca.post(`/v2/{p}/instances/${id}/backups`, { backup_format: 'rdb' });
    assert.equal(backup.status, 200, backup.text);
    await waitFor(async () => (await cb.get(`/v2/{p}/instances/${id}/backups`)).body.backup_record_response
      .find((x: any) => x.backup_id === backup.body.backup_id)?.status === 'succeed', 30_000, 'backup succeed');
    await write(port, 'after-backup', 10);
    const previous = await keysAt(port);
    assert.equal(previous.length, 30);

    // The restore is asked of b, but runs on a, which supervises the instance.
    const restore = await cb.post(`/v2/{p}/instances/${id}/restores`, { backup_id: backup.body.backup_id });
    assert.equal(restore.status, 200, restore.text);
    const taskId = (await cb.get(`/v2/{p}/instances/${id}`)).body.task.id;
    const aside = path.join(a.dataDir, 'instances', id, 'node-0', `restore-aside-${taskId}`);
    await waitFor(async () => {
      const r = (await cb.get(`/v2/{p}/instances/${id}/restores`)).body.restore_record_response.find((x: any) => x.restore_id === restore.body.restore_id);
      return ready(aside, r, () => keysAt(port).catch(() => null));
    }, 30_000, `restore in step ${where}`);
    await a.kill9();

    const record = await waitFor(async () => {
      const r = (await cb.get(`/v2/{p}/instances/${id}/restores`)).body.restore_record_response.find((x: any) => x.restore_id === restore.body.restore_id);
      return r && ['succeed', 'failed'].includes(r.status) && r;
    }, 60_000, 'the restore ended on b');
    assert.equal(record.status, 'failed', 'b failed the dead node\'s restore');

    await a.restart();
    await waitFor(async () => (await cb.get(`/v2/{p}/instances/${id}`)).body.status === 'RUNNING', 30_000, 'instance RUNNING again');
    assert.deepEqual(await keysAt(port), previous, 'a failed restore leaves the previous data');
  });
}
