/**
 * How a backup record is shown (records.md §1): `size` only from `succeed` on (kept after
 * `expired`/`deleted`), `error_code` only while `failed`, and a record whose task has not ended
 * yet still `backuping`, without the size its finished file already has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveBackup } from '../../src/records/backups.js';
import type { BackupRecord } from '../../src/records/records.js';

const record = (o: Partial<BackupRecord>): BackupRecord => ({
  id: 'b', projectId: 'p', instanceId: 'i', name: 'backup_x', period: null, size: 89, type: 'manual', format: 'rdb', status: 'succeed',
  progress: 100, errorCode: null, remark: null, fileName: 'f.rdb', createdAt: 1, updatedAt: 2, executionAt: 1, taskStatus: 'SUCCESS', ...o,
});

test('a succeed record whose task still runs is shown backuping, with no size yet', () => {
  const b = effectiveBackup(record({ taskStatus: 'EXECUTING' }));
  assert.deepEqual([b.status, b.size, b.errorCode], ['backuping', null, null]);
});

test('size is kept from succeed on, through expired and deleted', () => {
  for (const status of ['succeed', 'expired', 'deleted'] as const) assert.equal(effectiveBackup(record({ status })).size, 89, status);
});

test('a failed backup deleted later shows no error code; a failed one keeps it', () => {
  assert.equal(effectiveBackup(record({ status: 'failed', size: null, errorCode: 'dcs.08.0008' })).errorCode, 'dcs.08.0008');
  const deleted = effectiveBackup(record({ status: 'deleted', size: null, errorCode: 'dcs.08.0008' }));
  assert.deepEqual([deleted.status, deleted.errorCode, deleted.size], ['deleted', null, null]);
});

test('a record in flight whose task ended is failed with dcs.08.0001', () => {
  const b = effectiveBackup(record({ status: 'backuping', size: null, taskStatus: 'FAILED' }));
  assert.deepEqual([b.status, b.errorCode], ['failed', 'dcs.08.0001']);
});
