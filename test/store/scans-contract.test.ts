/**
 * The store contract of key scans and automatic backups, on both stores: a scan holds no
 * active-task slot but one of each kind per instance (atomically, also from two connections), a
 * slot's fixed id is inserted once, deletes win once, an instance goes with its records, at most
 * 100 scan records per kind are kept, automatic backups expire past their retention.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { InstanceRecord } from '../../src/instances/records.js';
import type { BackupRecord, ScanKind, ScanRecord } from '../../src/records/records.js';
import type { NewTask } from '../../src/tasks/records.js';
import type { Store } from '../../src/store/types.js';
import { dropDatabase, openStore, testDatabaseUrl } from '../helpers/db.js';
import { tempDir } from '../helpers/service.js';

const opened: { store: Store; url: string }[] = [];
after(async () => {
  for (const { store, url } of opened) {
    await store.close();
    await dropDatabase(url);
  }
});

const actor = { userId: 'u1', userName: 'alice' };
const OPTS = { refuseStatuses: ['CREATING' as const], refuseDuring: ['restoreRecord'] };

function instance(): InstanceRecord {
  const now = Date.now();
  return {
    id: randomUUID(), projectId: 'p1', name: 'i', engine: 'Redis', engineVersion: '7.0', capacityGb: 1, host: '127.0.0.1', port: 6400,
    status: 'RUNNING', managed: false, redisUrl: 'redis://127.0.0.1:6400', password: null, pendingPassword: null, username: null,
    extra: {}, nodes: [], ownerNode: null, createdAt: now, launchedAt: now, updatedAt: now,
  };
}

function task(i: InstanceRecord, name: string, id = randomBytes(16).toString('hex')): NewTask {
  return {
    id, projectId: i.projectId, instanceId: i.id, instanceName: i.name, name, details: {}, userId: 'u1', userName: 'alice',
    params: '{}', state: {}, createdAt: Date.now(), steps: ['one'],
  };
}

function scan(i: InstanceRecord, kind: ScanKind, id = randomUUID(), createdAt = Date.now()): ScanRecord {
  return {
    id, projectId: i.projectId, instanceId: i.id, kind, scanType: 'manual', status: 'waiting', createdAt, startedAt: null, finishedAt: null,
    num: 0, keys: null, failReason: null,
  };
}

const createScan = (store: Store, i: InstanceRecord, s: ScanRecord) => store.records.createScan(task(i, `${s.kind}Scan`, s.id), s, OPTS);

/** Claims and finishes every runnable task (the scans' included). */
async function finishAll(store: Store): Promise<void> {
  for (const t of await store.claimTasks('owner', 1000, 10_000, Date.now())) {
    assert.ok(await store.finishTask(t.id, 'owner', 'SUCCESS', null, null, Date.now()));
  }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`${kind} store: scans and automatic backups`, () => {
    const freshPair = async () => {
      const url = testDatabaseUrl(tempDir(), kind);
      const a = await openStore(url);
      const b = await openStore(url);
      opened.push({ store: b, url }, { store: a, url });
      return [a, b] as const;
    };
    const withInstance = async (store: Store) => {
      const i = instance();
      await store.insertInstance(i);
      return i;
    };

    test('a scan holds no slot, but one of each kind; a restore in flight refuses scans', async () => {
      const [store] = await freshPair();
      const i = await withInstance(store);
      assert.ok((await store.createTask(task(i, 'flushInstance'), { refuseStatuses: [] })).ok);
      assert.deepEqual(await createScan(store, i, scan(i, 'bigkey')), { ok: true }, 'a scan beside a running task');
      assert.deepEqual(await createScan(store, i, scan(i, 'hotkey')), { ok: true });
      assert.deepEqual(await createScan(store, i, scan(i, 'bigkey')), { ok: false, refused: 'scan_in_flight' });
      assert.equal((await store.activeTasks('p1')).length, 1, 'show-instance\'s task is the flush, never a scan');
      await finishAll(store);
      assert.ok((await store.createTask(task(i, 'restoreRecord'), { refuseStatuses: [] })).ok);
      assert.deepEqual(await createScan(store, i, scan(i, 'expire')), { ok: false, refused: 'busy', activeTaskName: 'restoreRecord' });
    });

    test('two connections creating the same kind at once: exactly one', async () => {
      const [a, b] = await freshPair();
      const i = await withInstance(a);
      for (let round = 0; round < 10; round++) {
        const outs = await Promise.all([createScan(a, i, scan(i, 'bigkey')), createScan(b, i, scan(i, 'bigkey'))]);
        assert.equal(outs.filter((o) => o.ok).length, 1, JSON.stringify(outs));
        await finishAll(a);
      }
    });

    test('a slot\'s fixed id is inserted once; deletes win once and need a finished scan', async () => {
      const [a, b] = await freshPair();
      const i = await withInstance(a);
      const s = scan(i, 'expire');
      assert.deepEqual(await createScan(a, i, s), { ok: true });
      await finishAll(a);
      assert.deepEqual(await createScan(b, i, { ...s, createdAt: Date.now() + 1 }), { ok: false, refused: 'duplicate' });
      const inFlight = scan(i, 'expire');
      assert.deepEqual(await createScan(a, i, inFlight), { ok: true });
      assert.equal((await a.records.deleteScan(i.id, 'expire', inFlight.id, actor, Date.now())).outcome, 'running');
      const outs = await Promise.all([a.records.deleteScan(i.id, 'expire', s.id, actor, Date.now()), b.records.deleteScan(i.id, 'expire', s.id, actor, Date.now())]);
      assert.deepEqual(outs.map((o) => o.outcome).sort(), ['deleted', 'not_found']);
      assert.equal((await a.records.deleteScan(i.id, 'bigkey', inFlight.id, actor, Date.now())).outcome, 'not_found', 'another kind\'s id');
    });

    test('at most 100 records of a kind: the oldest finished go; the instance goes with its records', async () => {
      const [store] = await freshPair();
      const i = await withInstance(store);
      const t0 = Date.now() - 1_000_000;
      const first = scan(i, 'bigkey', randomUUID(), t0);
      assert.deepEqual(await createScan(store, i, first), { ok: true });
      await finishAll(store);
      for (let n = 1; n <= 100; n++) {
        assert.deepEqual(await createScan(store, i, scan(i, 'bigkey', randomUUID(), t0 + n)), { ok: true });
        await finishAll(store);
      }
      const { count } = await store.records.listScans(i.id, 'bigkey', { offset: 0, limit: 1000 });
      assert.equal(count, 100);
      assert.equal(await store.records.getScan(first.id), null, 'the oldest went');

      await store.records.putAutoscanConfig({ instanceId: i.id, kind: 'bigkey', config: { enable_auto_scan: true, schedule_at: ['01:00'] }, updatedAt: Date.now() });
      assert.deepEqual(await createScan(store, i, scan(i, 'hotkey')), { ok: true });
      const busy = await store.deleteInstance('p1', i.id);
      assert.equal(busy.outcome, 'busy', 'a scan in flight keeps the instance');
      await finishAll(store);
      assert.equal((await store.deleteInstance('p1', i.id)).outcome, 'deleted');
      assert.equal((await store.records.listScans(i.id, 'bigkey', { offset: 0, limit: 10 })).count, 0);
      assert.equal(await store.records.getAutoscanConfig(i.id, 'bigkey'), null);
      assert.deepEqual(await store.records.listAutoscanConfigs(), []);
    });

    test('retention removes finished scan tasks unaudited (the scan record keeps the outcome), ordinary ones audited', async () => {
      const [store] = await freshPair();
      const i = await withInstance(store);
      const s = scan(i, 'bigkey');
      assert.deepEqual(await createScan(store, i, s), { ok: true });
      const flush = task(i, 'flushInstance');
      assert.ok((await store.createTask(flush, { refuseStatuses: [] })).ok);
      await finishAll(store);
      const retention = { userId: 'system', userName: 'retention', message: 'old' };
      assert.equal(await store.purgeFinishedBefore(Date.now() + 1, retention, 10), 2, 'the scan\'s task and the flush');
      assert.equal(await store.purgeFinishedBefore(Date.now() + 1, retention, 10), 0);
      assert.deepEqual((await store.listAudit('p1')).map((a) => a.taskId), [flush.id]);
      assert.notEqual(await store.records.getScan(s.id), null, 'the record stays');
    });

    test('updated_at of a backup and of a restore moves with their status, not with their progress', async () => {
      const [store] = await freshPair();
      const i = await withInstance(store);
      const t0 = Date.now() - 60_000;
      const b: BackupRecord = {
        id: randomUUID(), projectId: 'p1', instanceId: i.id, name: 'backup_x', period: null, size: null, type: 'manual',
        format: 'rdb', status: 'waiting', progress: 0, errorCode: null, remark: null, fileName: null, createdAt: t0, updatedAt: t0, executionAt: null,
      };
      assert.deepEqual(await store.records.createBackup(task(i, 'backup', b.id), b, []), { ok: true });
      const [claimed] = await store.claimTasks('owner', 10, 60_000, Date.now());
      assert.equal(claimed?.id, b.id);
      const fence = (now: number) => ({ taskId: b.id, owner: 'owner', now });
      const updatedAt = async () => (await store.records.getBackup(b.id))!.updatedAt;
      assert.ok(await store.records.updateBackupAsTask(fence(t0 + 1000), b.id, { status: 'backuping', progress: 0 }));
      assert.equal(await updatedAt(), t0 + 1000);
      assert.ok(await store.records.updateBackupAsTask(fence(t0 + 2000), b.id, { progress: 50 }));
      assert.equal(await updatedAt(), t0 + 1000, 'progress alone moved updated_at');
      assert.ok(await store.records.updateBackupAsTask(fence(t0 + 3000), b.id, { status: 'succeed', progress: 100, size: 10, fileName: 'f.rdb' }));
      assert.equal(await updatedAt(), t0 + 3000);
      assert.ok(await store.finishTask(b.id, 'owner', 'SUCCESS', null, null, Date.now()));

      const r = {
        id: randomUUID(), projectId: 'p1', instanceId: i.id, backupId: b.id, backupName: b.name, backupRemark: null,
        status: 'waiting' as const, progress: 0, errorCode: null, remark: null, createdAt: t0, updatedAt: t0,
      };
      const restoreTask = { ...task(i, 'restore', r.id) };
      assert.deepEqual(await store.records.createRestore(restoreTask, r, { refuseStatuses: [], instancePatch: {}, by: actor }), { ok: true });
      assert.equal((await store.claimTasks('owner', 10, 60_000, Date.now()))[0]?.id, r.id);
      const restoreFence = (now: number) => ({ taskId: r.id, owner: 'owner', now });
      const restoredAt = async () => (await store.records.getRestore(r.id))!.updatedAt;
      assert.ok(await store.records.updateRestoreAsTask(restoreFence(t0 + 4000), r.id, { status: 'restoring', progress: 10 }));
      assert.ok(await store.records.updateRestoreAsTask(restoreFence(t0 + 5000), r.id, { progress: 60 }));
      assert.equal(await restoredAt(), t0 + 4000, 'progress alone moved updated_at');
      assert.ok(await store.records.updateRestoreAsTask(restoreFence(t0 + 6000), r.id, { status: 'succeed', progress: 100 }));
      assert.equal(await restoredAt(), t0 + 6000);
    });

    test('automatic backups past their retention become expired; manual ones never', async () => {
      const [store] = await freshPair();
      const i = await withInstance(store);
      const day = 24 * 3600_000;
      const backup = (type: 'auto' | 'manual', createdAt: number): BackupRecord => ({
        id: randomUUID(), projectId: 'p1', instanceId: i.id, name: 'backup_x', period: type === 'auto' ? '00:00-01:00' : null, size: 10, type,
        format: 'rdb', status: 'succeed', progress: 100, errorCode: null, remark: null, fileName: 'f.rdb', createdAt, updatedAt: createdAt, executionAt: createdAt,
      });
      const old = backup('auto', Date.now() - 3 * day);
      const young = backup('auto', Date.now() - day / 2);
      const manual = backup('manual', Date.now() - 30 * day);
      for (const b of [old, young, manual]) assert.equal(await store.records.insertBackupIfAbsent(b), true);
      assert.equal(await store.records.insertBackupIfAbsent(old), false, 'once per id');
      assert.deepEqual(await store.records.expireAutoBackups(i.id, Date.now() - 2 * day, Date.now()), [old.id]);
      assert.deepEqual(
        [(await store.records.getBackup(old.id))?.status, (await store.records.getBackup(young.id))?.status, (await store.records.getBackup(manual.id))?.status],
        ['expired', 'succeed', 'succeed'],
      );
    });
  });
}
