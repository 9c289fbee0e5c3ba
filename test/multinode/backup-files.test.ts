/**
 * Backup files live in the data directory of the node that made them; any node answers a delete.
 * A delete through another node answers 204 and marks the record deleted there, and the node that
 * holds the file removes it at its next scheduler tick (records.md: "The file is removed from disk").
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { client, waitFor } from '../helpers/client.js';
import { makeCredential, startService, tempDir, type Service } from '../helpers/service.js';
import { dropDatabase, testDatabaseUrl } from '../helpers/db.js';
import { createRunningInstance } from '../helpers/instance.js';

const env = { DCS_LEASE_MS: '3000', DCS_SCHEDULER_TICK_MS: '200' };
const database = testDatabaseUrl(tempDir(), 'postgres');
const alice = makeCredential(randomBytes(16).toString('hex'), 'admin', 'alice');

let a: Service;
let b: Service;

before(async () => {
  a = await startService({ database, env, credentials: [alice] });
  b = await startService({ database, env, credentials: [alice] });
});

after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await dropDatabase(database);
});

test('a backup deleted through another node: 204, and its file goes from the node that holds it', async () => {
  const ca = client(a.url, alice);
  const cb = client(b.url, alice);
  const { id } = await createRunningInstance(ca, 'backup-files', 'Backup#Files123');
  const made = await ca.post(`/v2/{p}/instances/${id}/backups`, { backup_format: 'rdb' });
  assert.equal(made.status, 200, made.text);
  const backupId = made.body.backup_id;
  await waitFor(async () => (await cb.get(`/v2/{p}/instances/${id}/backups`)).body.backup_record_response
    .find((x: any) => x.backup_id === backupId)?.status === 'succeed', 30_000, 'backup succeed');
  const dir = path.join(a.dataDir, 'backups', id, backupId);
  assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.rdb')).length, 1, 'the file is on the node that made it');
  const other = path.join(a.dataDir, 'backups', id);

  const del = await cb.del(`/v2/{p}/instances/${id}/backups/${backupId}`);
  assert.equal(del.status, 204, del.text);
  assert.equal((await cb.get(`/v2/{p}/instances/${id}/backups`)).body.backup_record_response.find((x: any) => x.backup_id === backupId).status, 'deleted');
  await waitFor(async () => !fs.existsSync(dir), 10_000, 'the file removed on the node that holds it');
  assert.deepEqual(fs.readdirSync(other), [], 'nothing else of the instance\'s backups is left');
});
