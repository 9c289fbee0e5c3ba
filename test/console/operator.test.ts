/**
 * What an operator notices in the console, in a real browser against a real service: why a task
 * failed, lists that refresh themselves, task-centre filters kept in the URL, human task names,
 * times with their zone, the deletion audit, an error replacing stale rows, a 390 px screen,
 * dark mode, and / leading to the console. Screenshots: test-output/console/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { client, waitFor, type Client } from '../helpers/client.js';
import { prepareDataDir, startService, type Service, type TestCredential } from '../helpers/service.js';
import { launchBrowser, newPage, screenshot } from '../helpers/browser.js';

const P = '{p}';
let svc: Service;
let admin: Client;
let browser: Browser;
let page: Page;
let instanceId: string;
let failedTask: string;

const finished = (s: string) => s === 'SUCCESS' || s === 'FAILED';

async function taskDone(taskId: string): Promise<string> {
  return waitFor(async () => {
    const t = (await admin.get(`/v2/${P}/tasks`, { query: { limit: '100' } })).body.tasks.find((x: any) => x.id === taskId);
    return t && finished(t.status) && (t.status as string);
  }, 30_000, `task ${taskId} finished`);
}

async function flush(): Promise<string> {
  const r = await admin.put(`/v2/${P}/instances/status`, { instances: [instanceId], action: 'flush' });
  assert.equal(r.status, 200, r.text);
  return waitFor(async () => {
    const t = (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body.tasks.find((x: any) => x.name === 'flushInstance' && !finished(x.status));
    return t && (t.id as string);
  }, 10_000, 'flush task');
}

async function signIn(p: Page, cred: TestCredential, hash = ''): Promise<void> {
  await p.goto(`${svc.url}/console/${hash}`);
  await p.locator('input[name=project_id]').fill(cred.project_id);
  await p.locator('input[name=access_key]').fill(cred.access_key);
  await p.locator('input[name=secret_key]').fill(cred.secret_key);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

const row = (p: Page, taskId: string) => p.locator(`tr[data-task-id="${taskId}"]`);

before(async () => {
  const { dataDir, database } = prepareDataDir();
  svc = await startService({ dataDir, database, env: { DCS_STEP_DELAY_MS: '1500' } });
  admin = client(svc.url, svc.admin);
  const r = await admin.post(`/v2/${P}/instances`, { name: 'ops-demo', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: 'Console#Pass1' });
  assert.equal(r.status, 200, r.text);
  instanceId = r.body.instances[0].instance_id;
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${instanceId}`)).body.status === 'RUNNING', 20_000, 'instance RUNNING');
  // A task that really fails: 2 MB of data, then a capacity of 1 MiB.
  const ballast = new Redis({ host: '127.0.0.1', port: (await admin.get(`/v2/${P}/instances/${instanceId}`)).body.port, password: 'Console#Pass1', lazyConnect: true });
  await ballast.set('ballast', 'x'.repeat(2_000_000));
  ballast.disconnect();
  const resize = await admin.post(`/v2/${P}/instances/${instanceId}/resize`, { new_capacity: 1 / 1024 });
  assert.equal(resize.status, 200, resize.text);
  failedTask = resize.body.job_id;
  assert.equal(await taskDone(failedTask), 'FAILED');
  browser = await launchBrowser();
  page = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await svc?.stop();
});

test('/ leads to the console', async () => {
  const r = await fetch(`${svc.url}/`, { redirect: 'manual' });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), '/console/');
});

test('a failed task shows its error code and fail_reason in the row and in the steps; human name beside the raw one; times with zone', async () => {
  await signIn(page, svc.admin, `#/instances/${instanceId}/tasks`);
  const r = row(page, failedTask);
  // The instance's list carries no error_code: the code comes from the failed step, as in the centre.
  await r.locator('.fail-reason').getByText(/^DCS\.\d{4}: The instance uses \d+ bytes, more than the new capacity/).waitFor();
  assert.match(await r.locator('.task-name').innerText(), /^Resize\s+EXTEND$/);
  // The zone is named with the time (the test browser runs in UTC unless TZ says otherwise).
  assert.match(await r.locator('td[data-label=Started]').innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$/);
  await r.getByRole('button', { name: /Show steps/ }).click();
  const steps = page.locator('tr.steps-row');
  await steps.locator('.fail-reason').getByText(/more than the new capacity/).waitFor();
  await steps.locator('tr.step-failed').getByText(/^DCS\.\d{4}$/).waitFor();
  await screenshot(page, '20-failed-task-reason');
});

test('lists refresh themselves: a task started elsewhere appears without Refresh; the switch turns it off', async () => {
  await page.locator('.updated').getByText(/updated \d+ s ago/).waitFor();
  const started = await flush();
  await row(page, started).waitFor({ timeout: 10_000 }); // no click on Refresh
  await page.locator(`tr[data-task-id="${started}"][data-status="SUCCESS"]`).waitFor({ timeout: 30_000 });
  await screenshot(page, '21-auto-refresh');

  await page.locator('input[name=auto_refresh]').uncheck();
  const quiet = await flush();
  await taskDone(quiet);
  // Three refresh periods pass and the list is still the old one, with its age growing.
  await page.locator('.updated').getByText(/updated ([5-9]|\d\d+) s ago/).waitFor({ timeout: 15_000 });
  assert.equal(await row(page, quiet).count(), 0, 'no refresh while the switch is off');
  await page.getByRole('button', { name: 'Refresh', exact: true }).click();
  await row(page, quiet).waitFor();
  await page.locator('input[name=auto_refresh]').check();
});

test('operations: a confirmation that says what happens, off with the reason while a task runs, the new task at once, the effect in Redis', async () => {
  const port = (await admin.get(`/v2/${P}/instances/${instanceId}`)).body.port;
  const redis = new Redis({ host: '127.0.0.1', port, password: 'Console#Pass1', lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await redis.set('doomed', '1');
    await page.goto(`${svc.url}/console/#/instances/${instanceId}`);
    if (await page.locator('input[name=project_id]').count()) await signIn(page, svc.admin, `#/instances/${instanceId}`);
    const ops = page.getByRole('group', { name: 'Operations' });
    // Each step waits 1.5 s (DCS_STEP_DELAY_MS), so the flush runs long enough to see the others off.
    await ops.getByRole('button', { name: 'Flush' }).click();
    const dialog = page.getByRole('dialog');
    assert.match(await dialog.innerText(), /All data of ops-demo is deleted \(FLUSHALL\)\. This cannot be undone\.[\s\S]*flushInstance/);
    await screenshot(page, '30-operation-confirm');
    await dialog.getByRole('button', { name: 'Flush' }).click();
    await page.getByRole('status').getByText(/Flush started/).waitFor();
    await page.waitForFunction(() => location.hash.endsWith('/tasks'));
    const newest = (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body.tasks[0];
    assert.equal(newest.name, 'flushInstance');
    await row(page, newest.id).waitFor({ timeout: 3000 }); // at once, not at the next refresh
    await page.locator('.op-reason').getByText(/Flush data \(flushInstance\) is (EXECUTING|CREATED|WAITING): one task per instance at a time/).waitFor();
    assert.ok(await ops.getByRole('button', { name: 'Restart', exact: true }).isDisabled());
    assert.ok(await ops.getByRole('button', { name: 'Change configuration' }).isDisabled());
    await screenshot(page, '31-operations-off-while-running');
    await page.locator(`tr[data-task-id="${newest.id}"][data-status="SUCCESS"]`).waitFor({ timeout: 30_000 });
    await page.locator('.op-reason').waitFor({ state: 'detached' });
    assert.equal(await redis.exists('doomed'), 0, 'the flush really flushed');

    await ops.getByRole('button', { name: 'Change configuration' }).click();
    await dialog.locator('input[name=name]').fill('timeout');
    await dialog.locator('input[name=value]').fill('120');
    await dialog.getByRole('button', { name: 'Change configuration' }).click();
    await dialog.waitFor({ state: 'detached' });
    await waitFor(async () => (await redis.config('GET', 'timeout'))[1] === '120', 20_000, 'timeout=120 in Redis');

    // A bad value: the API's DCS.4066 in the dialog, which stays open to correct it.
    await page.locator('.op-reason').waitFor({ state: 'detached', timeout: 20_000 });
    await ops.getByRole('button', { name: 'Change configuration' }).click();
    await dialog.locator('input[name=name]').fill('no-such-parameter');
    await dialog.locator('input[name=value]').fill('1');
    await dialog.locator('input[name=value]').press('Enter'); // Enter in a field confirms, as the button does
    await dialog.getByRole('alert').getByText(/DCS\.4066/).waitFor();
    await screenshot(page, '32-operation-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // The port it is on already: said in the dialog, nothing sent, no task.
    const tasksBefore = (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body.task_count;
    await ops.getByRole('button', { name: 'Change port' }).click();
    await dialog.locator('input[name=port]').fill(String(port));
    await dialog.getByRole('button', { name: 'Change port' }).click();
    await dialog.getByRole('alert').getByText(`ops-demo is on port ${port} already: enter another port.`).waitFor();
    assert.equal((await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body.task_count, tasksBefore);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    // Focus is back on the button that opened the dialog.
    await page.waitForFunction(() => document.activeElement?.textContent === 'Change port', undefined, { timeout: 3000 });
  } finally {
    redis.disconnect();
  }
});

test('an open operation dialog survives a failed refresh of its instance, its buttons off meanwhile', async () => {
  const port = (await admin.get(`/v2/${P}/instances/${instanceId}`)).body.port;
  const redis = new Redis({ host: '127.0.0.1', port, password: 'Console#Pass1', lazyConnect: true, maxRetriesPerRequest: 0 });
  const instanceUrl = (u: URL) => u.pathname.endsWith(`/instances/${instanceId}`);
  try {
    await page.goto(`${svc.url}/console/#/instances/${instanceId}`);
    if (await page.locator('input[name=project_id]').count()) await signIn(page, svc.admin, `#/instances/${instanceId}`);
    await page.locator('.op-reason').waitFor({ state: 'detached', timeout: 30_000 }); // no task of the instance runs
    const ops = page.getByRole('group', { name: 'Operations' });
    await ops.getByRole('button', { name: 'Change configuration' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name=name]').fill('timeout');
    await dialog.locator('input[name=value]').fill('240');
    // The instance's next refresh (auto-refresh is on) cannot reach the service.
    await page.route(instanceUrl, (r) => r.abort('connectionrefused'));
    await page.getByRole('alert').getByText(/could not be reached/).waitFor({ timeout: 10_000 });
    assert.ok(await dialog.isVisible(), 'the dialog is still open');
    assert.equal(await dialog.locator('input[name=value]').inputValue(), '240', 'what was typed is kept');
    assert.ok(await ops.getByRole('button', { name: 'Restart', exact: true }).isDisabled(), 'no new operation while the instance is unknown');
    await screenshot(page, '33-dialog-survives-refresh-failure');
    await page.unroute(instanceUrl);
    await page.getByRole('alert').getByText(/could not be reached/).waitFor({ state: 'detached', timeout: 10_000 });
    await dialog.getByRole('button', { name: 'Change configuration' }).click();
    await dialog.waitFor({ state: 'detached' });
    await waitFor(async () => (await redis.config('GET', 'timeout'))[1] === '240', 20_000, 'timeout=240 in Redis');
  } finally {
    await page.unroute(instanceUrl);
    redis.disconnect();
  }
});

test('task-centre filters and page live in the URL hash and survive a reload', async () => {
  await page.getByRole('link', { name: 'Task centre' }).click();
  await page.locator('tr[data-task-id]').first().waitFor();
  await page.locator('select[name=status]').selectOption('FAILED');
  await page.waitForFunction(() => location.hash.includes('status=FAILED'));
  await page.waitForFunction(() => [...document.querySelectorAll('tr[data-task-id]')].every((r) => r.getAttribute('data-status') === 'FAILED'));
  await row(page, failedTask).waitFor();
  await page.locator('.pager-range').getByText('1–1 of 1').waitFor();
  await screenshot(page, '22-centre-filter-failed');

  await page.locator('select[name=status]').selectOption('');
  // The task filter offers what the task centre lists: no records (never in it), every operation.
  const names = await page.locator('select[name=name] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  for (const n of ['flushInstance', 'resetPassword', 'CreateAcl', 'DeleteAcl', 'createMigrationTask']) assert.ok(names.includes(n), `${n} missing: ${names}`);
  for (const n of ['backupRecord', 'restoreRecord', 'expireKeyScan']) assert.ok(!names.includes(n), `${n} offered: ${names}`);
  await page.locator('select[name=name]').selectOption('flushInstance');
  await page.waitForFunction(() => location.hash.includes('name=flushInstance'));
  const flushes = (await admin.get(`/v2/${P}/tasks`, { query: { limit: '100' } })).body.tasks.filter((t: any) => t.name === 'flushInstance').length;
  assert.ok(flushes >= 2);
  await page.waitForFunction((n) => document.querySelectorAll('tr[data-task-id]').length === n, flushes);
  assert.equal(await row(page, failedTask).count(), 0);

  // By id: a part of the failed task's id, with the name filter cleared.
  await page.locator('select[name=name]').selectOption('');
  await page.locator('input[name=id]').fill(failedTask.slice(4, 14));
  await page.locator('input[name=id]').press('Enter');
  await page.waitForFunction(() => location.hash.includes('id='));
  await page.locator('.pager-range').getByText('1–1 of 1').waitFor();

  // The hash is a shareable view: a new tab signed in with it shows the same filter and page.
  const shared = `#/tasks?status=SUCCESS&name=flushInstance&limit=1&offset=1`;
  const other = await newPage(browser);
  try {
    await signIn(other, svc.admin, shared);
    await other.locator('.pager-range').getByText(`2–2 of ${flushes}`).waitFor();
    assert.equal(await other.locator('select[name=status]').inputValue(), 'SUCCESS');
    assert.equal(await other.locator('select[name=name]').inputValue(), 'flushInstance');
    assert.equal(await other.locator('tr[data-task-id]').count(), 1);
    await screenshot(other, '23-centre-shared-view');
  } finally {
    await other.context().close();
  }
});

test('deletion audit: the API route and the console page say who deleted which task, when, with which message', async () => {
  const del = await admin.del(`/v2/${P}/tasks/${failedTask}`, { body: { message: 'failed resize, cleaned up' } });
  assert.equal(del.status, 200, del.text);
  const audit = await admin.get(`/v2/${P}/task-audit`, { query: { limit: '5' } });
  assert.equal(audit.status, 200, audit.text);
  assert.equal(audit.body.count, '1');
  const [a] = audit.body.audits;
  assert.deepEqual({ ...a, deleted_at: undefined }, {
    task_id: failedTask, instance_id: instanceId, task_name: 'EXTEND', last_status: 'FAILED',
    user_id: svc.admin.user_id, user_name: svc.admin.user_name, message: 'failed resize, cleaned up', deleted_at: undefined,
  });
  assert.ok(Math.abs(Date.parse(a.deleted_at) - Date.now()) < 60_000);
  const bad = await admin.get(`/v2/${P}/task-audit`, { query: { limit: '0' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error_code, 'DCS.4800');

  await page.getByRole('link', { name: 'Deletion audit' }).click();
  const r = row(page, failedTask);
  await r.getByText('failed resize, cleaned up').waitFor();
  assert.match(await r.innerText(), new RegExp(`Resize[\\s\\S]*EXTEND[\\s\\S]*FAILED[\\s\\S]*${instanceId}[\\s\\S]*${svc.admin.user_name}`));
  await screenshot(page, '24-deletion-audit');
});

test('usable at 390 px: no sideways scrolling, rows as cards with their labels; dark mode from the system', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', deviceScaleFactor: 1 });
  const p = await context.newPage();
  try {
    await signIn(p, svc.admin, '#/tasks');
    await p.locator('tr[data-task-id]').first().waitFor();
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    const wide = await p.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391)
      .map((e) => `${e.tagName}.${e.className}`).slice(0, 8).join(', '));
    assert.ok(width <= 390, `page is ${width} px wide: ${wide}`);
    const del = p.locator('tr[data-task-id]').first().getByRole('button', { name: 'Delete' });
    const box = await del.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, 'Delete is on screen');
    assert.match(await p.locator('tr[data-task-id]').first().locator('td[data-label=Status]').evaluate((td) => getComputedStyle(td, '::before').content), /Status/);
    const bg = await p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g)!.map(Number);
    assert.ok(r! + g! + b! < 150, `dark background, got ${bg}`);
    await screenshot(p, '27-phone-dark');
  } finally {
    await context.close();
  }
});

test('an error replaces stale rows and is shown once', async () => {
  const p = await newPage(browser);
  try {
    // An instance that does not exist: its page and its task list fail alike.
    await signIn(p, svc.admin, '#/instances/0123456789abcdef0123456789abcdef/tasks');
    const alerts = p.getByRole('alert');
    await alerts.first().waitFor();
    assert.match(await alerts.first().innerText(), /DCS\.4\d{3}/);
    await p.waitForTimeout(1500); // the task list would have answered by now: still one error
    assert.equal(await alerts.count(), 1, 'one error, not one per component');
    assert.equal(await p.locator('tr[data-task-id]').count(), 0);
    await screenshot(p, '25-error-once');

    // A list that was showing rows and then fails: the error replaces the rows.
    await p.evaluate(() => { location.hash = '#/tasks'; });
    await p.locator('tr[data-task-id]').first().waitFor();
    await svc.stop(); // the service goes away under the open page
    await p.getByRole('button', { name: 'Refresh', exact: true }).click();
    await p.getByRole('alert').getByText(/could not be reached/).waitFor();
    assert.equal(await p.locator('tr[data-task-id]').count(), 0, 'no stale rows under the error');
    assert.equal(await p.getByRole('alert').count(), 1);
    await screenshot(p, '26-error-replaces-rows');
  } finally {
    await p.context().close();
  }
});
