/**
 * `dcs-tasks serve` as interface.md describes it: first start prints a credential once (file
 * 0600), bad configuration exits non-zero with one clear line and damages nothing, --no-auth is
 * loopback-only, SIGTERM exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { call, sleep, waitFor } from '../helpers/client.js';
import { CLI, runCli, spawnCli, tempDir, testCredentials } from '../helpers/service.js';
import { dropDatabase, testDatabaseUrl } from '../helpers/db.js';

function waitListening(p: ChildProcess): Promise<{ url: string; out: string; stdout: () => string; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let stdout = '';
    let stderr = '';
    const t = setTimeout(() => reject(new Error(`no listening line:\n${out}`)), 20_000);
    p.stdout!.on('data', (d) => {
      out += d;
      stdout += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(t); resolve({ url: m[1], out, stdout: () => stdout, stderr: () => stderr }); }
    });
    p.stderr!.on('data', (d) => { out += d; stderr += d; });
    p.once('exit', (code) => { clearTimeout(t); reject(new Error(`exited ${code}:\n${out}`)); });
  });
}

function stop(p: ReturnType<typeof spawnCli>): Promise<number | null> {
  return new Promise((resolve) => {
    p.removeAllListeners('exit');
    p.once('exit', (code) => resolve(code));
    p.kill('SIGTERM');
  });
}

test('first start creates and prints one admin credential (0600); the second start prints none', async () => {
  const data = tempDir();
  const p = spawnCli(['serve', '--port', '0', '--data', data]);
  const { url, stdout, stderr } = await waitListening(p);
  // Printed once for the person at the terminal (stderr), never into the JSON log stream (stdout).
  const out = await waitFor(async () => /project_id=[0-9a-f]{32}/.test(stderr()) && stderr(), 10_000, 'the credential on stderr');
  assert.ok(!/access_key=|secret_key=/.test(stdout()), 'no credential on stdout');
  const ak = /access_key=(\S+)/.exec(out)![1];
  const sk = /secret_key=(\S+)/.exec(out)![1];
  const project = /project_id=([0-9a-f]{32})/.exec(out)![1];
  const file = path.join(data, 'credentials.json');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const cred = { access_key: ak, secret_key: sk, project_id: project, user_id: 'x', user_name: 'admin', role: 'admin' as const };
  const r = await call(url, cred, 'GET', `/v2/${project}/tasks`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { task_count: '0', tasks: [] });
  const missing = await call(url, cred, 'DELETE', `/v2/${project}/tasks/${'0'.repeat(32)}`);
  assert.equal(missing.status, 404);
  // One JSON line per request, with the DCS code, who asked and the ids of the path.
  const lines = await waitFor(async () => {
    const found = stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    return found.length >= 2 && found;
  }, 10_000, 'request log lines');
  const ok = lines.find((l: any) => l.request_id === r.headers.get('x-request-id'));
  assert.deepEqual([ok.status, ok.error_code, ok.user_name, ok.project_id], [200, null, 'admin', project]);
  const refused = lines.find((l: any) => l.request_id === missing.headers.get('x-request-id'));
  assert.deepEqual([refused.status, refused.error_code, refused.task_id], [404, 'DCS.4001', '0'.repeat(32)]);
  assert.ok(!stdout().includes(sk), 'the secret key is in no log line');
  const health = await call(url, null, 'GET', '/health');
  assert.equal(health.body.status, 'ok');
  assert.equal(await stop(p), 0);
  const again = spawnCli(['serve', '--port', '0', '--data', data]);
  const second = await waitListening(again);
  assert.doesNotMatch(second.out, /secret_key=/);
  assert.equal(await stop(again), 0);
});

test('bad configuration: non-zero exit, one clear line, nothing damaged', async () => {
  const data = tempDir();
  const bad = path.join(data, 'bad.json');
  fs.writeFileSync(bad, '[{"access_key": "AK1"}]');
  const r1 = await runCli(['serve', '--port', '0', '--data', data, '--credentials', bad]);
  assert.notEqual(r1.code, 0);
  assert.match(r1.stderr.trim(), /^dcs-tasks: .*bad\.json/);
  assert.equal(r1.stderr.trim().split('\n').length, 1);
  assert.equal(fs.readFileSync(bad, 'utf8'), '[{"access_key": "AK1"}]');

  const r2 = await runCli(['serve', '--port', '0', '--data', data, '--database', 'mysql://x']);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /unknown database URL/);

  const r3 = await runCli(['serve', '--port', 'eighty', '--data', data]);
  assert.notEqual(r3.code, 0);
  assert.match(r3.stderr, /invalid port/);

  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  const r4 = await runCli(['serve', '--port', String(port), '--data', data]);
  blocker.close();
  assert.notEqual(r4.code, 0);
  assert.match(r4.stderr, new RegExp(`port ${port} .*already in use`));

  const file = path.join(data, 'file-not-dir');
  fs.writeFileSync(file, 'x', { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  const r5 = await runCli(['serve', '--port', '0', '--data', file]);
  assert.equal(r5.code, 2);
  assert.equal(r5.stderr.trim(), `dcs-tasks: data directory ${file} is not usable: ENOTDIR`);
  assert.equal(fs.statSync(file).mode & 0o777, 0o644, 'the file given is left as it was');

  // Below a directory that refuses new entries (procfs): an error, not a start that never ends.
  const r6 = await runCli(['serve', '--port', '0', '--data', '/proc/dcs-tasks-nope/data']);
  assert.notEqual(r6.code, 0);
  assert.equal(r6.stderr.trim(), 'dcs-tasks: data directory /proc/dcs-tasks-nope/data is not usable: ENOENT');
  const r7 = await runCli(['serve', '--port', '0', '--data', tempDir(), '--database', 'sqlite:/proc/dcs-tasks-nope/dcs.db']);
  assert.notEqual(r7.code, 0);
  assert.match(r7.stderr.trim(), /^dcs-tasks: .*ENOENT/);
  assert.equal(r7.stderr.trim().split('\n').length, 1, r7.stderr);

  // A flag or value commander refuses, and an environment switch it cannot read: 2, as README says.
  const r8 = await runCli(['serve', '--bogus', '--data', tempDir()]);
  assert.equal(r8.code, 2, r8.stderr);
  assert.match(r8.stderr, /unknown option '--bogus'/);
  const r9 = await runCli(['serve', '--data', tempDir(), '--port']);
  assert.equal(r9.code, 2, r9.stderr);
  for (const value of ['true', 'yes', 'off']) {
    const r = await runCli(['serve', '--port', '0', '--data', tempDir()], { DCS_NO_AUTH: value });
    assert.equal(r.code, 2, `${value}: ${r.stderr}`);
    assert.equal(r.stderr.trim(), `dcs-tasks: invalid DCS_NO_AUTH "${value}": 1 turns authentication off, 0 or unset leaves it on`);
  }
});

test('--no-auth: refused on a non-loopback address, accepted on loopback with the path project', async () => {
  const r = await runCli(['serve', '--no-auth', '--host', '0.0.0.0', '--port', '0', '--data', tempDir()]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--no-auth is refused/);
  const env = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--data', tempDir()], { DCS_NO_AUTH: '1' });
  assert.notEqual(env.code, 0);

  const p = spawnCli(['serve', '--no-auth', '--port', '0', '--data', tempDir()]);
  try {
    await noAuthAnswers((await waitListening(p)).url);
  } finally {
    assert.equal(await stop(p), 0);
  }
});

async function noAuthAnswers(url: string): Promise<void> {
  const ok = await call(url, null, 'GET', '/v2/any-project_1/tasks');
  assert.equal(ok.status, 200, ok.text);
  const bad = await call(url, null, 'GET', '/v2/bad%20project/tasks');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error_code, 'DCS.4002');
  // With no credentials, a web page of another site must not drive the service (a text/plain
  // POST needs no CORS preflight): refused, nothing created; the service's own origin is fine.
  const create = { name: 'csrf', engine: 'Redis', engine_version: '7.0', capacity: 0.125, redis_url: 'redis://127.0.0.1:1' };
  for (const headers of [{ origin: 'http://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }] as Record<string, string>[]) {
    const r = await call(url, null, 'POST', '/v2/p1/instances', { body: create, headers: { ...headers, 'content-type': 'text/plain' } });
    assert.equal(r.status, 403, JSON.stringify(headers));
    assert.equal(r.body.error_code, 'DCS.3002');
    assert.match(r.body.error_msg, /another site/);
    assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
  }
  // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 is "same-origin"
  // to the browser; its Host header is what gives it away.
  const port = new URL(url).port;
  const rebound = { host: `evil.example:${port}`, origin: `http://evil.example:${port}`, 'sec-fetch-site': 'same-origin' };
  const r = await call(url, null, 'POST', '/v2/p1/instances', { body: create, headers: rebound });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.body.error_code, 'DCS.3002');
  assert.match(r.body.error_msg, /Host: evil\.example/);
  assert.equal((await call(url, null, 'GET', '/v2/p1/instances', { headers: rebound })).status, 403);
  assert.equal((await call(url, null, 'GET', '/v2/p1/instances')).body.instance_num, 0, 'nothing was created');
  const same = await call(url, null, 'GET', '/v2/p1/instances', { headers: { origin: url, 'sec-fetch-site': 'same-origin' } });
  assert.equal(same.status, 200, same.text);
  for (const host of [`localhost:${port}`, `[::1]:${port}`, `127.0.0.2:${port}`, 'app.localhost']) {
    const loopback = await call(url, null, 'GET', '/v2/p1/instances', { headers: { host } });
    assert.equal(loopback.status, 200, `${host}: ${loopback.text}`);
  }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  // On PostgreSQL the data directory names the node (its instances, their redis-servers): two
  // processes on one directory would supervise the same servers against each other.
  test(`a second service on the same data directory is refused while the first runs (${kind})`, async () => {
    const data = tempDir();
    const database = kind === 'sqlite' ? [] : ['--database', testDatabaseUrl(data, 'postgres')];
    const p = spawnCli(['serve', '--port', '0', '--data', data, ...database]);
    await waitListening(p);
    const r = await runCli(['serve', '--port', '0', '--data', data, ...database]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), `dcs-tasks: data directory ${data} is in use by another dcs-tasks process (pid ${p.pid})`);
    assert.equal(await stop(p), 0);
    const after = spawnCli(['serve', '--port', '0', '--data', data, ...database]);
    await waitListening(after);
    assert.equal(await stop(after), 0);
    if (database.length) await dropDatabase(database[1]!);
  });
}

test('PostgreSQL: a copy of a running node\'s data directory (same node id) is refused; the copy runs once the node-id file is removed', async () => {
  const data = tempDir();
  const database = testDatabaseUrl(data, 'postgres');
  const p = spawnCli(['serve', '--port', '0', '--data', data, '--database', database]);
  await waitListening(p);
  const copy = tempDir();
  fs.copyFileSync(path.join(data, 'node-id'), path.join(copy, 'node-id'));
  fs.copyFileSync(path.join(data, 'credentials.json'), path.join(copy, 'credentials.json'));
  try {
    const r = await runCli(['serve', '--port', '0', '--data', copy, '--database', database]);
    assert.equal(r.code, 2, r.stderr);
    const nodeId = fs.readFileSync(path.join(data, 'node-id'), 'utf8').trim();
    assert.match(r.stderr, new RegExp(`node id ${nodeId} .* is in use by another running node on this database`));
    fs.rmSync(path.join(copy, 'node-id'));
    const fresh = spawnCli(['serve', '--port', '0', '--data', copy, '--database', database]);
    await waitListening(fresh);
    assert.equal(await stop(fresh), 0);
  } finally {
    assert.equal(await stop(p), 0);
    await dropDatabase(database);
  }
});

/**
 * `serve` under a parent that never reaps it (sh execs `sleep`), as on a host where a killed
 * process stays a zombie for a while: its pid answers kill(pid, 0) although it is dead.
 */
function serveUnderNonReapingParent(data: string): { holder: ChildProcess; service: Promise<{ pid: number; url: string }> } {
  const holder = spawn('sh', ['-c', '"$@" & echo "pid $!"; exec sleep 600', 'sh', process.execPath, CLI, 'serve', '--port', '0', '--data', data], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  holder.stdout!.on('data', (d) => (out += d));
  const service = waitListening(holder).then(({ url }) => ({ pid: Number(/^pid (\d+)$/m.exec(out)![1]), url }));
  return { holder, service };
}

const processState = (pid: number) => {
  try {
    return /^\d+ \(.*\) (\S)/.exec(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))![1];
  } catch {
    return 'gone';
  }
};

test('restart 100 ms after kill -9 comes up every time, though the killed process is still an unreaped zombie', async () => {
  const data = tempDir();
  const holders: ChildProcess[] = [];
  try {
    let current = serveUnderNonReapingParent(data);
    holders.push(current.holder);
    for (let round = 0; round < 20; round++) {
      const { pid, url } = await current.service;
      assert.equal((await call(url, null, 'GET', '/health')).status, 200);
      process.kill(pid, 'SIGKILL');
      await waitFor(async () => processState(pid) === 'Z', 10_000, `pid ${pid} to be a zombie`);
      await sleep(100); // the supervisor's restart delay under test, not a wait for a condition
      current = serveUnderNonReapingParent(data);
      holders.push(current.holder);
      await assert.doesNotReject(current.service, `round ${round}: restart after kill -9 refused`);
      assert.equal(processState(pid), 'Z', 'the killed process must still be unreaped when the restart comes up');
    }
    const { pid } = await current.service;
    process.kill(pid, 'SIGTERM');
    await waitFor(async () => ['Z', 'gone'].includes(processState(pid)), 20_000, 'the last service to stop');
  } finally {
    for (const h of holders) h.kill('SIGKILL');
  }
});

test('a credentials file given with --credentials that others may read is made 0600 at start', async () => {
  const file = path.join(tempDir(), 'creds.json');
  fs.writeFileSync(file, JSON.stringify(testCredentials()), { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  const p = spawnCli(['serve', '--port', '0', '--data', tempDir(), '--credentials', file]);
  await waitListening(p);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(await stop(p), 0);
});

test('SIGTERM: a request in flight is answered, one sent behind it on the same connection gets 503 in the contract\'s shape', async () => {
  const p = spawnCli(['serve', '--no-auth', '--port', '0', '--data', tempDir()]);
  const { url } = await waitListening(p);
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
  let received = '';
  socket.on('data', (d) => (received += d));
  const body = JSON.stringify({ name: 'in-flight', engine: 'Redis', engine_version: '7.0', capacity: 'not a number' });
  try {
    await new Promise((r) => socket.once('connect', r));
    // The first request's body is held back, so it is in flight when the stop begins.
    socket.write(`POST /v2/p1/instances HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    await sleep(200);
    const exited = new Promise<number | null>((r) => p.once('exit', r));
    p.kill('SIGTERM');
    // The stop has begun once the port takes no new connection.
    const refused = () => new Promise<boolean>((r) => {
      const probe = net.connect(Number(new URL(url).port), '127.0.0.1');
      probe.once('connect', () => { probe.destroy(); r(false); });
      probe.once('error', () => r(true));
    });
    await waitFor(refused, 10_000, 'the listening socket closed');
    socket.write(`${body.slice(10)}GET /v2/p1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const answers = await waitFor(async () => {
      const parts = received.split(/(?=HTTP\/1\.1 \d{3})/);
      return parts.length >= 2 && /\r\n\r\n[\s\S]*\}$/.test(parts[1]!) && parts;
    }, 10_000, `two answers: ${received}`);
    assert.match(answers[0]!, /^HTTP\/1\.1 400/);
    assert.match(answers[0]!, /"error_code":"DCS.4800"/);
    assert.match(answers[1]!, /^HTTP\/1\.1 503/);
    assert.match(answers[1]!, /\r\nx-request-id: [0-9a-f]{32}\r\n/i);
    assert.match(answers[1]!, /\r\nconnection: close\r\n/i);
    const second = JSON.parse(answers[1]!.slice(answers[1]!.indexOf('\r\n\r\n') + 4));
    assert.equal(second.error_code, 'DCS.5000');
    assert.match(second.error_msg, /shutting down/);
    assert.equal(await exited, 0);
  } finally {
    socket.destroy();
    if (p.exitCode === null) p.kill('SIGKILL');
  }
});

test('while the service starts, its port held, a request gets 503 in the contract\'s shape (not a reset): nothing was applied', async () => {
  // A database that accepts and never answers keeps the start waiting with the port held.
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const port = await new Promise<number>((r) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => r(p)); }); });
  const p = spawnCli(['serve', '--port', String(port), '--data', tempDir(), '--database', `postgres://postgres@127.0.0.1:${(silent.address() as net.AddressInfo).port}/test`]);
  // Connections reset by their client from the first moment on (before the HTTP layer has
  // loaded, too) must not end the process.
  let resetting = true;
  const resets = (async () => {
    while (resetting) {
      await new Promise<void>((r) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => r());
        s.on('connect', () => { s.resetAndDestroy(); r(); });
      });
      await sleep(5);
    }
  })();
  try {
    const answer = await waitFor(() => new Promise<string | false>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('error', () => resolve(false));
      s.on('close', () => resolve(got || false));
      s.on('connect', () => s.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'));
    }), 10_000, 'an answer while starting');
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.match(answer, /\r\nX-Request-Id: [0-9a-f]{32}\r\n/i);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    assert.deepEqual(Object.keys(body).sort(), ['error_code', 'error_ext_msg', 'error_msg']);
    assert.equal(body.error_code, 'DCS.5000');
    assert.match(body.error_msg, /starting/);
    resetting = false;
    await resets;
    assert.equal(p.exitCode, null, 'the service ended while clients reset their connections');
  } finally {
    resetting = false;
    p.kill('SIGKILL');
    silent.close();
  }
});
