/**
 * The record tabs and the migrations page in a real browser against a real service and real
 * redis-servers: a backup created in the console reaches succeed and its download is a real RDB;
 * a restore brings the backup's data back; a big-key analysis lists the key the test wrote; an
 * expired-key scan runs; a migration that follows its source stops from the console and is
 * deleted. Screenshots: test-output/console/4x-*.png.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { client, waitFor, type Client } from '../helpers/client.js';
import { prepareDataDir, startService, type Service } from '../helpers/service.js';
import { createRunningInstance } from '../helpers/instance.js';
import { onRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { launchBrowser, newPage, screenshot } from '../helpers/browser.js';

const P = '{p}';
const PASSWORD = 'Records#Pass1';
const SRC_PASSWORD = 'Source#Pass1';
let svc: Service;
let admin: Client;
let browser: Browser;
let page: Page;
let inst: { id: string; port: number };
let source: TestRedis;

async function signIn(p: Page, hash: string): Promise<void> {
  await p.goto(`${svc.url}/console/${hash}`);
  await p.locator('input[name=project_id]').fill(svc.admin.project_id);
  await p.locator('input[name=access_key]').fill(svc.admin.access_key);
  await p.locator('input[name=secret_key]').fill(svc.admin.secret_key);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

/** Moves inside the signed-in console (the session lives in the page, so no reload). */
async function go(hash: string): Promise<void> {
  await page.evaluate((h) => { location.hash = h; }, hash);
}

const onInstance = <T>(fn: Parameters<typeof onRedis<T>>[2]) => onRedis(inst.port, PASSWORD, fn);

before(async () => {
  const { dataDir, database } = prepareDataDir();
  // Each step waits a second, so a backup and a restore are seen in progress.
  svc = await startService({ dataDir, database, env: { DCS_STEP_DELAY_MS: '1000' } });
  admin = client(svc.url, svc.admin);
  inst = await createRunningInstance(admin, 'records-demo', PASSWORD);
  source = await startRedis(SRC_PASSWORD);
  browser = await launchBrowser();
  page = await newPage(browser);
  await signIn(page, `#/instances/${inst.id}`);
});

after(async () => {
  await browser?.close();
  await svc?.stop();
  await source?.stop();
});

test('the overview shows the new instance fields: status, no running task, capacity below 1 GB, Redis processes', async () => {
  const dd = (k: string) => page.locator(`dd[data-field="${k}"]`);
  await dd('Status').getByText('RUNNING').waitFor();
  assert.equal(await dd('Capacity').innerText(), '0.25 GB');
  assert.equal(await dd('Running task').innerText(), 'none');
  assert.match(await dd('Redis processes').innerText(), /^1: the master and 0 replica\(s\)$/);
  await screenshot(page, '40-instance-overview');
});

test('Backups & Restores: a backup created here reaches succeed, downloads as an RDB, restores the data, and is deleted', async () => {
  await onInstance(async (r) => { await r.set('before-backup', 'kept'); });
  await page.getByRole('tab', { name: 'Backups & Restores' }).click();
  await page.getByText('No backups of this instance.').waitFor();
  await page.getByRole('button', { name: 'Create backup' }).click();
  const dialog = page.getByRole('dialog');
  assert.match(await dialog.innerText(), /saves its data \(BGSAVE for rdb/);
  await dialog.locator('select[name=backup_format]').selectOption('rdb');
  await dialog.locator('input[name=remark]').fill('from the console');
  await screenshot(page, '41-backup-create');
  await dialog.getByRole('button', { name: 'Create backup' }).click();
  const started = await page.getByRole('status').getByText(/^Backup \S+ started\./).innerText();
  const backupId = /^Backup (\S+) started/.exec(started)![1]!;
  const row = page.locator(`tr[data-backup-id="${backupId}"]`);
  // While it runs, Delete is off with the reason (steps take a second each).
  await page.locator(`tr[data-backup-id="${backupId}"][data-status="backuping"], tr[data-backup-id="${backupId}"][data-status="waiting"]`).waitFor();
  assert.ok(await row.getByRole('button', { name: 'Delete' }).isDisabled());
  await row.getByText(/cannot be deleted \(DCS\.4017\)/).waitFor();
  await screenshot(page, '42-backup-running');
  // No click on Refresh: the list follows the backup until it is finished.
  await page.locator(`tr[data-backup-id="${backupId}"][data-status="succeed"]`).waitFor({ timeout: 30_000 });
  assert.match(await row.innerText(), /from the console/);
  const listed = (await admin.get(`/v2/${P}/instances/${inst.id}/backups`)).body.backup_record_response;
  assert.deepEqual(listed.map((b: any) => [b.backup_id, b.status, b.remark]), [[backupId, 'succeed', 'from the console']]);

  const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Download' }).click()]);
  const file = await download.path();
  assert.equal(fs.readFileSync(file).subarray(0, 5).toString(), 'REDIS', 'the download is the RDB file');

  // Restore: data written after the backup goes, the backup's comes back.
  await onInstance(async (r) => { await r.set('after-backup', 'gone'); await r.del('before-backup'); });
  await row.getByRole('button', { name: 'Restore' }).click();
  assert.match(await dialog.innerText(), /is replaced by the backup[\s\S]*keys written since are gone, keys deleted since come back/);
  await screenshot(page, '43-restore-confirm');
  await dialog.getByRole('button', { name: 'Restore' }).click();
  const restoreNotice = await page.getByRole('status').getByText(/^Restore \S+ started from/).innerText();
  const restoreId = /^Restore (\S+) started/.exec(restoreNotice)![1]!;
  await page.locator(`tr[data-restore-id="${restoreId}"]`).waitFor({ timeout: 5000 });
  await page.locator(`tr[data-restore-id="${restoreId}"][data-status="succeed"]`).waitFor({ timeout: 60_000 });
  assert.deepEqual(await onInstance((r) => Promise.all([r.get('before-backup'), r.exists('after-backup')])), ['kept', 0]);
  await screenshot(page, '44-restore-succeeded');

  await row.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await page.locator(`tr[data-backup-id="${backupId}"][data-status="deleted"]`).waitFor({ timeout: 5000 });
  assert.equal(await row.getByRole('button', { name: 'Download' }).count(), 0);
});

test('Cache Analysis: a big-key analysis lists the big key written; a hot-key analysis is refused with its code; an expired-key scan runs', async () => {
  await onInstance(async (r) => {
    await r.set('console:big', 'x'.repeat(200_000));
    await r.set('console:small', 'y');
    await r.rpush('console:list', ...Array.from({ length: 3000 }, (_, i) => String(i)));
  });
  await go(`#/instances/${inst.id}/analysis`);
  const big = page.locator('section[data-kind="bigkey"]');
  await big.getByText('No big keys analyses yet.').waitFor();
  await big.getByRole('button', { name: 'Start big keys analysis' }).click();
  const dialog = page.getByRole('dialog');
  assert.match(await dialog.innerText(), /TYPE and size are read/);
  await dialog.getByRole('button', { name: 'Start analysis' }).click();
  const done = big.locator('tr[data-status="success"]');
  await done.waitFor({ timeout: 30_000 });
  await done.getByRole('button', { name: /Show keys/ }).click();
  const keys = big.locator('table.found-keys');
  await keys.locator('tr[data-key="console:big"]').getByText('200000 bytes').waitFor();
  await keys.locator('tr[data-key="console:list"]').getByText('3000 elements').waitFor();
  await screenshot(page, '45-bigkeys-found');

  // The instance's maxmemory-policy is not LFU: the API refuses, the dialog says so with the code.
  await page.locator('section[data-kind="hotkey"]').getByRole('button', { name: 'Start hot keys analysis' }).click();
  await dialog.getByRole('button', { name: 'Start analysis' }).click();
  await dialog.getByRole('alert').getByText(/^DCS\.4922: .*\(request id \S+\)$/).waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await page.locator('section[data-kind="hotkey"] tr[data-analysis-id]').count(), 0);

  const expire = page.locator('section[data-kind="expire"]');
  await expire.getByRole('button', { name: 'Start expired-key scan' }).click();
  await dialog.getByRole('button', { name: 'Start scan' }).click();
  await expire.locator('tr[data-status="success"]').waitFor({ timeout: 30_000 });
  const scans = (await admin.get(`/v2/${P}/instances/${inst.id}/auto-expire/histories`)).body;
  assert.equal(scans.records.length, 1);
  assert.equal(await expire.locator('tr[data-status="success"] td[data-label="Keys released"]').innerText(), String(scans.records[0].num));
  await screenshot(page, '46-analysis-tab');

  // The analysis is deleted from the console: the record goes, Redis keeps the key.
  await done.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await big.getByText('No big keys analyses yet.').waitFor();
  assert.equal(await onInstance((r) => r.strlen('console:big')), 200_000);
});

test('Migrations: a migration following its source shows its progress, stops from the console (target writable again) and is deleted', async () => {
  await onRedis(source.port, SRC_PASSWORD, async (r) => { for (let i = 0; i < 50; i++) await r.set(`src:${i}`, String(i)); });
  const created = await admin.post(`/v2/${P}/migration/instance`, { name: 'console-follow', vpc_id: 'v', subnet_id: 's', security_group_id: 'g' });
  assert.equal(created.status, 200, created.text);
  const id: string = created.body.instance_id;
  const configured = await admin.post(`/v2/${P}/migration/${id}/task`, {
    migration_method: 'incremental_migration', source_instance: { addrs: `127.0.0.1:${source.port}`, password: SRC_PASSWORD }, target_instance: { id: inst.id },
  });
  assert.equal(configured.status, 200, configured.text);

  await page.getByRole('link', { name: 'Migrations' }).click();
  const row = page.locator(`tr[data-migration-id="${id}"]`);
  await page.locator(`tr[data-migration-id="${id}"][data-status="INCRMIGEATING"]`).waitFor({ timeout: 60_000 });
  assert.ok(await row.getByRole('button', { name: 'Delete' }).isDisabled());
  await row.getByText(/cannot be deleted \(DCS\.4017\): stop it first/).waitFor();
  await row.getByRole('button', { name: /Show details/ }).click();
  const detail = page.locator('.migration-detail');
  await detail.locator('dd[data-field="Source"]').getByText(`127.0.0.1:${source.port}`).waitFor();
  await detail.locator('dd[data-field="Target"]').getByText('records-demo').waitFor();
  await detail.locator('dd[data-field="Keys"]').getByText(/^50 on the source/).waitFor();
  await screenshot(page, '47-migration-following');

  await row.getByRole('button', { name: 'Stop' }).click();
  const dialog = page.getByRole('dialog');
  assert.match(await dialog.innerText(), /what was copied stays/);
  await dialog.getByRole('button', { name: 'Stop' }).click();
  await page.locator(`tr[data-migration-id="${id}"][data-status="TERMINATED"]`).waitFor({ timeout: 10_000 });
  // Observed: TERMINATED can be shown a moment before the target answers role:master (service side, not the console).
  const t0 = Date.now();
  await waitFor(async () => /role:master/.test(await onInstance((r) => r.info('replication'))), 5000, 'the target writable again (REPLICAOF NO ONE)');
  console.error(`# target was a master ${Date.now() - t0} ms after the console showed TERMINATED`);
  assert.equal(await onInstance((r) => r.get('src:7')), '7');
  await screenshot(page, '48-migration-stopped');

  await row.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await row.waitFor({ state: 'detached', timeout: 5000 });
  assert.equal((await admin.get(`/v2/${P}/migration-tasks`)).body.count, 0);
});

test('at 390 px the record tabs are cards; dark mode follows the system', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const p = await phone.newPage();
  try {
    await p.goto(`${svc.url}/console/#/instances/${inst.id}/backups`);
    await p.locator('input[name=project_id]').fill(svc.admin.project_id);
    await p.locator('input[name=access_key]').fill(svc.admin.access_key);
    await p.locator('input[name=secret_key]').fill(svc.admin.secret_key);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.locator('tr[data-backup-id] td[data-label="Status"]').first().waitFor();
    assert.equal(await p.locator('table thead').first().isVisible(), false, 'headers hidden: one card per row');
    await screenshot(p, '49-backups-390px-dark');
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no sideways scrolling (${width} px)`);
  } finally {
    await phone.close();
  }
});
