/**
 * The web console in a real browser against a real service: sign-in (AK/SK signed in the page,
 * and token), a flush task watched from progress bar to SUCCESS, Delete refused while it runs,
 * delete through the dialog (and gone from the API), an API error shown with code and request
 * id, the task centre with paging, time filter and delete. Screenshots: test-output/console/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { client, waitFor, type Client } from '../helpers/client.js';
import { prepareDataDir, startService, type Service, type TestCredential } from '../helpers/service.js';
import { seedFinishedTasks } from '../helpers/seed.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { launchBrowser, newPage, screenshot } from '../helpers/browser.js';

const P = '{p}';
const SEEDED = 12;
const DAY = 86_400_000;

let svc: Service;
let redis: TestRedis;
let admin: Client;
let browser: Browser;
let page: Page;
let instanceId: string;

const running = (s: string) => s !== 'SUCCESS' && s !== 'FAILED';

before(async () => {
  // Seeded history first (finished tasks two days old, on an attached Redis), then the service.
  const { dataDir, project, database } = prepareDataDir();
  redis = await startRedis();
  await seedFinishedTasks(database, project, SEEDED, redis.port, 2 * DAY);
  // Each step waits 2 s first, so a flush (two steps) stays EXECUTING for about 4 s.
  svc = await startService({ dataDir, database, env: { DCS_STEP_DELAY_MS: '2000' } });
  admin = client(svc.url, svc.admin);
  const r = await admin.post(`/v2/${P}/instances`, { name: 'console-demo', engine: 'Redis', engine_version: '7.0', capacity: 0.125, password: 'Console#Pass1' });
  assert.equal(r.status, 200, r.text);
  instanceId = r.body.instances[0].instance_id;
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${instanceId}`)).body.status === 'RUNNING', 20_000, 'instance RUNNING');
  browser = await launchBrowser();
  page = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await svc?.stop();
  await redis?.stop();
});

async function openSignIn(p: Page): Promise<void> {
  await p.goto(`${svc.url}/console/`);
  await p.getByRole('heading', { name: 'DCS background tasks' }).waitFor();
}

async function signInAkSk(p: Page, cred: TestCredential, secretKey = cred.secret_key): Promise<void> {
  await openSignIn(p);
  await p.locator('input[name=project_id]').fill(cred.project_id);
  await p.locator('input[name=access_key]').fill(cred.access_key);
  await p.locator('input[name=secret_key]').fill(secretKey);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

async function signInToken(p: Page, projectId: string, token: string): Promise<void> {
  await openSignIn(p);
  await p.locator('.segmented label', { hasText: 'Token' }).click();
  await p.locator('input[name=project_id]').fill(projectId);
  await p.locator('input[name=token]').fill(token);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

/** Starts a flush through the API and returns its task id. */
async function startFlush(): Promise<string> {
  const r = await admin.put(`/v2/${P}/instances/status`, { instances: [instanceId], action: 'flush' });
  assert.equal(r.status, 200, r.text);
  return waitFor(async () => {
    const t = (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body.tasks[0];
    return t && t.name === 'flushInstance' && running(t.status) && (t.id as string);
  }, 10_000, 'flush task');
}

async function finished(taskId: string): Promise<void> {
  await waitFor(async () => {
    const t = (await admin.get(`/v2/${P}/tasks`, { query: { limit: '100' } })).body.tasks.find((x: any) => x.id === taskId);
    return t && !running(t.status);
  }, 30_000, `task ${taskId} finished`);
}

const row = (taskId: string) => page.locator(`tr[data-task-id="${taskId}"]`);
const REQUEST_ID = /request id [0-9a-f]{32}/;

test('a wrong secret key is refused with the API error code and request id', async () => {
  await signInAkSk(page, svc.admin, 'SK-not-the-right-one');
  const error = page.getByRole('alert');
  await error.waitFor();
  const text = await error.innerText();
  assert.match(text, /DCS\.1001/);
  assert.match(text, REQUEST_ID);
  await screenshot(page, '01-signin-wrong-secret');
});

test('AK/SK sign-in shows the instances; the secret key is kept nowhere but memory', async () => {
  await signInAkSk(page, svc.admin);
  await page.getByRole('heading', { name: 'Instances' }).waitFor();
  await page.locator(`tr[data-instance-id="${instanceId}"]`).getByText('console-demo').waitFor();
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.ok(!stored.includes(svc.admin.secret_key));
  await screenshot(page, '02-instances');
});

test('a running task: live progress bar, Delete disabled with the reason, steps, then SUCCESS', async () => {
  await page.getByRole('link', { name: 'console-demo' }).click();
  await page.getByRole('tab', { name: 'Background Tasks' }).click();
  const taskId = await startFlush();
  await page.getByRole('button', { name: 'Refresh' }).click();
  const r = row(taskId);
  await r.getByRole('progressbar').waitFor();
  assert.ok(await r.getByRole('button', { name: 'Delete' }).isDisabled(), 'Delete is disabled while the task runs');
  assert.match(await r.locator('.delete-reason').innerText(), /running task cannot be deleted/i);
  await r.getByRole('button', { name: /Show steps/ }).click();
  await page.locator('table.steps').getByRole('cell', { name: 'Flush all databases', exact: true }).waitFor();
  // The bar moves: half the steps done while the second one still waits.
  await r.locator('[role=progressbar][aria-valuenow="50"]').waitFor({ timeout: 15_000 });
  await screenshot(page, '03-task-running');
  await page.locator(`tr[data-task-id="${taskId}"][data-status="SUCCESS"]`).waitFor({ timeout: 30_000 });
  assert.equal(await r.getByRole('progressbar').count(), 0);
  assert.ok(await r.getByRole('button', { name: 'Delete' }).isEnabled());
  await screenshot(page, '04-task-finished');
});

test('Delete through the confirmation dialog removes the task, in the page and in the API', async () => {
  const t = (await admin.get(`/v2/${P}/instances/${instanceId}/tasks`)).body.tasks[0];
  assert.equal(t.status, 'SUCCESS');
  await row(t.id).getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.match(await dialog.innerText(), new RegExp(t.id));
  await screenshot(page, '05-delete-dialog');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await row(t.id).waitFor({ state: 'detached' });
  await page.getByRole('status').getByText(/was deleted/).waitFor();
  const list = await admin.get(`/v2/${P}/instances/${instanceId}/tasks`);
  assert.ok(!list.body.tasks.some((x: any) => x.id === t.id));
  const progress = await admin.get(`/v2/${P}/instances/${instanceId}/tasks/${t.id}/progress`);
  assert.equal(progress.status, 404);
  await screenshot(page, '06-deleted');
});

test('deleting a task another client already deleted shows DCS.4001 with the request id', async () => {
  const taskId = await startFlush();
  await finished(taskId);
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.locator(`tr[data-task-id="${taskId}"][data-status="SUCCESS"]`).waitFor();
  await row(taskId).getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  const gone = await admin.del(`/v2/${P}/instances/${instanceId}/tasks/${taskId}`);
  assert.equal(gone.status, 200, gone.text);
  await dialog.getByRole('button', { name: 'Delete' }).click();
  const error = dialog.getByRole('alert');
  await error.waitFor();
  const text = await error.innerText();
  assert.match(text, /DCS\.4001/);
  assert.match(text, REQUEST_ID);
  await screenshot(page, '07-delete-already-deleted');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await row(taskId).waitFor({ state: 'detached' });
});

test('task centre: every task of the project, paging, time filter, delete', async () => {
  const older = await startFlush();
  await finished(older);
  const recent = await startFlush();
  await finished(recent);
  await page.getByRole('link', { name: 'Task centre' }).click();
  await page.getByRole('heading', { name: 'Task centre' }).waitFor();
  const total = Number((await admin.get(`/v2/${P}/tasks`)).body.task_count);
  assert.equal(total, SEEDED + 2, 'the seeded tasks and the two flushes');
  await page.locator('.pager-range').getByText(`1–10 of ${total}`).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('tr[data-task-id]').length === 10);
  await row(recent).getByRole('link', { name: 'console-demo' }).waitFor();
  await screenshot(page, '08-task-centre');

  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('.pager-range').getByText(`11–${total} of ${total}`).waitFor();
  // The range shows at once; the rows follow when the next page has arrived.
  await page.waitForFunction((n) => document.querySelectorAll('tr[data-task-id]').length === n, total - 10);

  // Started from one day ago (local time in the page): the two-day-old seeded tasks drop out.
  const from = new Date(Date.now() - DAY);
  const local = await page.evaluate((ms) => {
    const d = new Date(ms);
    const p = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }, from.getTime());
  await page.locator('input[name=start_time]').fill(local);
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('.pager-range').getByText('1–2 of 2').waitFor();
  await screenshot(page, '09-task-centre-filtered');

  await row(recent).getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await row(recent).waitFor({ state: 'detached' });
  await page.locator('.pager-range').getByText('1–1 of 1').waitFor();
  const centre = await admin.get(`/v2/${P}/tasks`, { query: { limit: '100' } });
  assert.equal(Number(centre.body.task_count), total - 1);
  assert.ok(!centre.body.tasks.some((x: any) => x.id === recent));

  await page.getByRole('button', { name: 'Clear' }).click();
  await page.locator('.pager-range').getByText(`1–10 of ${total - 1}`).waitFor();
});

test('a 401 after sign-in (the signature date out of range) offers to sign in again, back on the same page', async () => {
  const p = await newPage(browser);
  const api = (u: URL) => u.pathname.startsWith('/v2/');
  try {
    await signInAkSk(p, svc.admin);
    await p.getByRole('link', { name: 'Task centre' }).click();
    await p.locator('tr[data-task-id]').first().waitFor();
    // Every request from now on carries a signing time a day old: the real service answers 401.
    await p.route(api, (r) => r.continue({ headers: { ...r.request().headers(), 'x-sdk-date': new Date(Date.now() - 86_400_000).toISOString().replace(/[-:]|\.\d+/g, '') } }));
    await p.getByRole('button', { name: 'Refresh', exact: true }).click();
    const alert = p.getByRole('alert');
    await alert.getByText(/DCS\.1002/).waitFor();
    await screenshot(p, '11-session-ended');
    await p.unroute(api);
    await alert.getByRole('button', { name: 'Sign in again' }).click();
    await p.getByRole('heading', { name: 'DCS background tasks' }).waitFor();
    await p.locator('input[name=project_id]').fill(svc.admin.project_id);
    await p.locator('input[name=access_key]').fill(svc.admin.access_key);
    await p.locator('input[name=secret_key]').fill(svc.admin.secret_key);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.locator('tr[data-task-id]').first().waitFor(); // the task centre again, from the address
    assert.match(p.url(), /#\/tasks/);
  } finally {
    await p.unroute(api);
    await p.context().close();
  }
});

test('token sign-in (X-Auth-Token); a bad token is refused with DCS.1001', async () => {
  const issued = await admin.post(`/v2/${P}/tokens`, { ttl_seconds: 600 });
  assert.equal(issued.status, 200, issued.text);
  const p = await newPage(browser);
  try {
    await signInToken(p, svc.admin.project_id, 'not-a-token');
    const error = p.getByRole('alert');
    await error.waitFor();
    assert.match(await error.innerText(), /DCS\.1001.*request id [0-9a-f]{32}/);

    await p.locator('input[name=token]').fill(issued.body.token);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Instances' }).waitFor();
    await p.locator('.who').getByText('token').waitFor();
    await p.getByRole('link', { name: 'Task centre' }).click();
    await p.locator('tr[data-task-id]').first().waitFor();
    await screenshot(p, '10-token-task-centre');
  } finally {
    await p.context().close();
  }
});
