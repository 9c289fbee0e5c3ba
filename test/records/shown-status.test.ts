/**
 * The status a record (or an ACL account) is shown with follows its engine task: an outcome
 * written by a task that has not ended yet is shown as still in flight (the instance is busy with
 * it until the task ends, so a `succeed` shown then would invite a restore refused as busy — seen
 * in CI), and a record left in flight by a task that ended is shown failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveBackup, effectiveRestore } from '../../src/records/backups.js';
import { effectiveScan } from '../../src/records/scans.js';
import type { BackupRecord, RestoreRecord, ScanRecord } from '../../src/records/records.js';
import { aclAccountsShown, type AclAccount } from '../../src/instances/acl.js';
import type { InstanceRecord } from '../../src/instances/records.js';

const backup = (status: BackupRecord['status'], taskStatus: string | null): BackupRecord => ({
  id: 'b', projectId: 'p', instanceId: 'i', name: 'backup_x', period: null, size: 10, type: 'manual', format: 'rdb', status,
  progress: 100, errorCode: status === 'failed' ? 'dcs.08.0001' : null, remark: null, fileName: 'f.rdb', createdAt: 1, updatedAt: 2,
  executionAt: 1, taskStatus,
});
const restore = (status: RestoreRecord['status'], taskStatus: string | null): RestoreRecord => ({
  id: 'r', projectId: 'p', instanceId: 'i', backupId: 'b', backupName: 'backup_x', backupRemark: null, status, progress: 100,
  errorCode: null, remark: null, createdAt: 1, updatedAt: 2, taskStatus,
});
const scan = (status: ScanRecord['status'], taskStatus: string | null): ScanRecord => ({
  id: 's', projectId: 'p', instanceId: 'i', kind: 'bigkey', scanType: 'manual', status, createdAt: 1, startedAt: 1,
  finishedAt: status === 'success' ? 2 : null, num: 1, keys: status === 'success' ? [{ name: 'k', type: 'string', shard: 's', db: 0, size: 9, unit: 'byte' }] : null,
  failReason: null, taskStatus,
});

test('a backup shows its outcome only once its task has ended', () => {
  assert.equal(effectiveBackup(backup('succeed', 'EXECUTING')).status, 'backuping');
  assert.deepEqual([effectiveBackup(backup('failed', 'EXECUTING')).status, effectiveBackup(backup('failed', 'EXECUTING')).errorCode], ['backuping', null]);
  assert.equal(effectiveBackup(backup('succeed', 'SUCCESS')).status, 'succeed');
  assert.equal(effectiveBackup(backup('succeed', null)).status, 'succeed', 'its task purged long ago');
  assert.equal(effectiveBackup(backup('backuping', 'EXECUTING')).status, 'backuping');
  assert.deepEqual([effectiveBackup(backup('backuping', 'FAILED')).status, effectiveBackup(backup('backuping', 'FAILED')).errorCode], ['failed', 'dcs.08.0001']);
  assert.equal(effectiveBackup(backup('expired', null)).status, 'expired');
});

test('a restore shows its outcome only once its task has ended', () => {
  assert.equal(effectiveRestore(restore('succeed', 'EXECUTING')).status, 'restoring');
  assert.equal(effectiveRestore(restore('succeed', 'SUCCESS')).status, 'succeed');
  assert.equal(effectiveRestore(restore('restoring', 'SUCCESS')).status, 'failed');
});

test('a scan shows its outcome only once its task has ended', () => {
  const shown = effectiveScan(scan('success', 'EXECUTING'));
  assert.deepEqual([shown.status, shown.finishedAt, shown.num, shown.keys], ['running', null, 0, null]);
  assert.equal(effectiveScan(scan('success', 'SUCCESS')).status, 'success');
  assert.equal(effectiveScan(scan('running', 'FAILED')).status, 'failed');
  // Failed by another node for a dead one: the record was never finished, the task was (records.md: finished_at set once failed).
  assert.equal(effectiveScan({ ...scan('running', 'FAILED'), taskFinishedAt: 7 }).finishedAt, 7);
  assert.equal(effectiveScan({ ...scan('waiting', null) }).finishedAt, 1, 'its task purged: no later time is known than its start');
  assert.equal(effectiveScan(scan('running', 'EXECUTING')).status, 'running');
});

test('an ACL account shows the status its request recorded until the task applying it has ended', () => {
  const account = (id: string, status: AclAccount['status']): AclAccount => ({ id, name: `user-${id}`, role: 'read', description: '', status, passwordSha256: 'x' });
  const instance = { extra: { acl_accounts: [account('a', 'AVAILABLE'), account('b', 'AVAILABLE')] } } as unknown as InstanceRecord;
  const shown = (state: Record<string, unknown> | undefined) => aclAccountsShown(instance, state && { state }).map((a) => `${a.id}:${a.status}`);
  assert.deepEqual(shown({ accountId: 'a', inFlightStatus: 'CREATING' }), ['a:CREATING', 'b:AVAILABLE']);
  assert.deepEqual(shown({ accountId: 'b', inFlightStatus: 'UPDATING' }), ['a:AVAILABLE', 'b:UPDATING']);
  assert.deepEqual(shown(undefined), ['a:AVAILABLE', 'b:AVAILABLE'], 'no task running');
  assert.deepEqual(shown({ backupId: 'x' }), ['a:AVAILABLE', 'b:AVAILABLE'], 'another kind of task');
});
