/**
 * The supervisor's start, against real redis-server processes: a node is up only when its own
 * server answers. Another Redis already answering on the port (same password, or none) must not
 * pass for it — the instance would otherwise run its flushes and configs against that server.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { RedisSupervisor } from '../../src/redis/supervisor.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.js';
import { sleep, waitFor } from '../helpers/client.js';
import { tempDir } from '../helpers/service.js';

const sup = new RedisSupervisor({ redisServer: 'redis-server', logger: pino({ level: 'silent' }) });
const others: TestRedis[] = [];
after(async () => {
  await sup.stopAll();
  await Promise.all(others.map((r) => r.stop()));
});

const MB64 = 64 * 1024 * 1024;

for (const password of [null, 'Same#Passw0rd']) {
  test(`a port another Redis answers on (${password ? 'the same password' : 'no password'}): the start fails with the bind error, the other server is untouched`, async () => {
    const other = await startRedis(password);
    others.push(other);
    const c = other.client(password);
    await c.set('theirs', '1');
    const id = `taken-${password ? 'pw' : 'nopw'}:node-0`;
    await assert.rejects(
      sup.start({ instanceId: id, port: other.port, password, maxmemoryBytes: MB64, dir: path.join(tempDir(), 'node') }),
      /exited during start.*(Address already in use|Failed listening)/,
    );
    assert.equal(sup.isUp(id), false);
    assert.equal(await c.get('theirs'), '1');
    assert.equal(await c.config('GET', 'maxmemory').then((r) => (r as string[])[1]), '0', 'the other server was not configured as ours');
    c.disconnect();
  });
}

test('a free port: the start answers once its own server is up, in its own directory', async () => {
  const port = await freePort();
  const dir = path.join(tempDir(), 'node');
  await sup.start({ instanceId: 'free:node-0', port, password: 'Own#Passw0rd', maxmemoryBytes: MB64, dir });
  assert.equal(sup.isUp('free:node-0'), true);
  const pid = Number(fs.readFileSync(path.join(dir, 'redis.pid'), 'utf8'));
  assert.ok(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server'));
  await sup.stop('free:node-0');
  assert.equal(sup.isUp('free:node-0'), false);
});

test('a start that fails (its port held by another program) is tried again until the node is up: the port freed, it comes up by itself', async () => {
  const port = await freePort();
  const squatter = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', () => r()));
  const id = 'retried:node-0';
  const up = new Promise<void>((r) => sup.on('up', (key: string) => { if (key === id) r(); }));
  await assert.rejects(sup.start({ instanceId: id, port, password: 'Own#Passw0rd', maxmemoryBytes: MB64, dir: path.join(tempDir(), 'node') }));
  assert.equal(sup.isUp(id), false);
  await new Promise<void>((r) => squatter.close(() => r()));
  await up;
  assert.equal(sup.isUp(id), true);
  await sup.stop(id);
});

test('a start while a restart attempt is in flight owns the node: the attempt leaves it alone, the started server keeps running', async () => {
  // A redis-server that takes 1 s to begin (so an attempt is seen in flight) and counts its starts.
  const bin = path.join(tempDir('dcs-slow-redis-'), 'redis-server');
  const starts = `${bin}.starts`;
  fs.writeFileSync(bin, `#!/bin/sh\nif [ "$1" = "--version" ]; then exec redis-server --version; fi\necho x >> '${starts}'\nsleep 1\nexec redis-server "$@"\n`, { mode: 0o755 });
  const slow = new RedisSupervisor({ redisServer: bin, logger: pino({ level: 'silent' }), restartBackoffMs: 100 });
  const port = await freePort();
  const squatter = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', () => r()));
  const spec = { instanceId: 'raced:node-0', port, password: 'Own#Passw0rd', maxmemoryBytes: MB64, dir: path.join(tempDir(), 'node') };
  const count = () => (fs.existsSync(starts) ? fs.readFileSync(starts, 'utf8').split('\n').filter(Boolean).length : 0);
  const events: string[] = [];
  for (const e of ['up', 'down', 'failed']) slow.on(e, (key: string) => { if (key === spec.instanceId) events.push(e); });
  try {
    await assert.rejects(slow.start(spec));
    await waitFor(async () => count() >= 2, 10_000, 'a restart attempt under way');
    await new Promise<void>((r) => squatter.close(() => r()));
    await slow.start(spec); // the task's start, while the attempt's server is still sleeping
    const pid = slow.pid(spec.instanceId);
    assert.ok(pid && slow.isUp(spec.instanceId));
    // An absence is watched for a while: the attempt in flight ends within ~1 s, and a retry it
    // scheduled would run 100–200 ms later.
    const startsNow = count();
    await sleep(3000);
    assert.equal(slow.pid(spec.instanceId), pid, `the node was restarted behind the start's back: ${events}`);
    assert.equal(count(), startsNow, `more starts came after the task's: ${events}`);
    assert.ok(!events.includes('down'), `${events}`);
  } finally {
    await slow.stopAll();
    squatter.close();
  }
});
