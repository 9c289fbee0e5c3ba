/**
 * An online migration that cannot connect, through the API against real redis-servers, with the
 * real retry timings (every 5 s, give up after 60 s): a source refusing our password fails the
 * task at once with the Redis error text and never says "Connected"; a source nobody listens on
 * is retried, each ERROR carrying ECONNREFUSED, and a stop meanwhile settles TERMINATED within 5 s.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.js';
import { createRunningInstance } from '../helpers/instance.js';

const P = '{p}';
let svc: Service;
let admin: Client;
let source: TestRedis;
let targetId: string;

const statusOf = async (id: string) => (await admin.get(`/v2/${P}/migration-task/${id}`)).body.status as string;
const logsOf = async (id: string) => (await admin.get(`/v2/${P}/migration-task/${id}/logs`, { query: { limit: '100' } })).body.migration_logs as any[];

/** A configured migration from `source` (an addrs body) into the target instance. */
async function migrate(name: string, sourceBody: Record<string, string>): Promise<string> {
  const id = (await admin.post(`/v2/${P}/migration/instance`, { name, vpc_id: 'v', subnet_id: 's', security_group_id: 'g' })).body.instance_id;
  const r = await admin.post(`/v2/${P}/migration/${id}/task`, {
    migration_method: 'full_amount_migration', source_instance: sourceBody, target_instance: { id: targetId },
  });
  assert.equal(r.status, 200, r.text);
  return id;
}

before(async () => {
  svc = await startService();
  admin = client(svc.url, svc.admin);
  source = await startRedis('Src#Pass1234');
  targetId = (await createRunningInstance(admin, 'failures-target', 'Tgt#Pass1234')).id;
});

after(async () => {
  await svc?.stop();
  await source?.stop();
});

test('a source refusing the password: FAILED at once with the WRONGPASS text, no "Connected" log', async () => {
  const id = await migrate('wrong-password', { addrs: `127.0.0.1:${source.port}`, password: 'Not#The1234' });
  // Retried as a lost connection, it would stay MIGRATING for 60 s.
  await waitFor(async () => (await statusOf(id)) === 'FAILED', 10_000, 'FAILED');
  const logs = await logsOf(id);
  const errors = logs.filter((l) => l.log_level === 'ERROR');
  assert.equal(errors.length, 1, JSON.stringify(logs));
  assert.match(errors[0].message, /WRONGPASS/);
  assert.ok(!logs.some((l) => /Connected/.test(l.message)), JSON.stringify(logs));
  assert.ok(!JSON.stringify(logs).includes('Not#The1234'), 'the password was logged');
});

test('a source nobody listens on: retried with ECONNREFUSED in each ERROR; a stop settles TERMINATED within 5 s', async () => {
  const id = await migrate('unreachable', { addrs: `127.0.0.1:${await freePort()}` });
  const first = await waitFor(async () => (await logsOf(id)).find((l) => l.log_level === 'ERROR'), 10_000, 'a first failed attempt');
  assert.match(first.message, /ECONNREFUSED.*retrying in 5 s/);
  assert.equal(await statusOf(id), 'MIGRATING');
  const stop = await admin.post(`/v2/${P}/migration-task/${id}/stop`, undefined);
  assert.equal(stop.status, 200, stop.text);
  await waitFor(async () => (await statusOf(id)) === 'TERMINATED', 5000, 'TERMINATED within 5 s');
  assert.ok(!(await logsOf(id)).some((l) => /Connected/.test(l.message)), 'never connected');
});

test('a source that is not a Redis (an HTTP server): FAILED at once, saying it does not speak the Redis protocol', async () => {
  const web = http.createServer((_req, res) => res.end('hello'));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  try {
    const id = await migrate('not-redis', { addrs: `127.0.0.1:${(web.address() as AddressInfo).port}` });
    await waitFor(async () => (await statusOf(id)) === 'FAILED', 10_000, 'FAILED');
    const errors = (await logsOf(id)).filter((l) => l.log_level === 'ERROR');
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0].message, /not in the Redis protocol/);
    assert.doesNotMatch(errors[0].message, /RESP|Please report/);
  } finally {
    web.closeAllConnections();
    web.close();
  }
});
