/**
 * The console's static files: served without credentials at /console and /console/, any
 * client-side path falls back to index.html, a missing bundle file is a plain 404, and the
 * DCS API beside it still demands credentials.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startService, type Service } from '../helpers/service.js';

let svc: Service;

before(async () => {
  svc = await startService();
});

after(async () => {
  await svc?.stop();
});

test('index.html at /console, /console/ and any client-side path, without credentials', async () => {
  for (const p of ['/console', '/console/', '/console/index.html', '/console/instances/abc/tasks']) {
    const r = await fetch(`${svc.url}${p}`);
    assert.equal(r.status, 200, p);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/, p);
    assert.match(await r.text(), /<div id="app">/, p);
    assert.equal(r.headers.get('cache-control'), 'no-cache', p);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/, p);
  }
});

test('the bundle is served with long caching; a missing asset is a 404, not index.html', async () => {
  const html = await (await fetch(`${svc.url}/console/`)).text();
  const js = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(js, html);
  const r = await fetch(`${svc.url}${js}`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /javascript/);
  assert.match(r.headers.get('cache-control') ?? '', /immutable/);
  const missing = await fetch(`${svc.url}/console/assets/nope-123.js`);
  assert.equal(missing.status, 404);
  assert.doesNotMatch(await missing.text(), /<html/);
});

test('the API next to the console still requires credentials', async () => {
  const r = await fetch(`${svc.url}/v2/${svc.admin.project_id}/instances`);
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error_code, 'DCS.1003');
});
