/**
 * The console against a service started with --no-auth: "None (--no-auth)" signs in with the
 * project alone and the requests go without credentials; the same choice against a service that
 * demands credentials is refused with DCS.1003, shown with its request id.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { call, waitFor } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { launchBrowser, newPage, screenshot } from '../helpers/browser.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let open: Service;
let guarded: Service;
let browser: Browser;
let redis: TestRedis;

before(async () => {
  open = await startService({ args: ['--no-auth'] });
  guarded = await startService();
  redis = await startRedis();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await Promise.all([open?.stop(), guarded?.stop(), redis?.stop()]);
});

test('"None (--no-auth)": the project alone signs in to a --no-auth service and lists its instances; a guarded service refuses it with DCS.1003', async () => {
  const created = await call(open.url, null, 'POST', '/v2/p1/instances', {
    body: { name: 'anon-demo', engine: 'Redis', engine_version: '7.0', capacity: 0.125, redis_url: redis.url, no_password_access: true },
  });
  assert.equal(created.status, 200, created.text);
  const page = await newPage(browser);
  await page.goto(`${open.url}/console/`);
  await page.getByText('None (--no-auth)').click();
  assert.equal(await page.locator('input[name=access_key]').count(), 0, 'no key fields for this method');
  await page.locator('input[name=project_id]').fill('p1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('anon-demo').first().waitFor();
  await page.getByText('no credentials').first().waitFor();
  await screenshot(page, '60-no-auth-signed-in');

  const other = await newPage(browser);
  await other.goto(`${guarded.url}/console/`);
  await other.getByText('None (--no-auth)').click();
  await other.locator('input[name=project_id]').fill(guarded.admin.project_id);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await waitFor(async () => (await other.getByRole('alert').textContent())?.includes('DCS.1003'), 20_000, 'DCS.1003 shown');
  assert.match((await other.getByRole('alert').textContent()) ?? '', /request id [0-9a-f]{32}/);
});
