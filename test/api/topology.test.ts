/**
 * Operations that change an instance's shape, checked against the real redis-server processes:
 * resize, replicas, master/standby switchover and a port change.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Redis } from 'ioredis';
import { client, waitFor, type Client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';
import { freePort } from '../helpers/redis.js';

let svc: Service;
let admin: Client;
let id: string;
const PASSWORD = 'Topo#Pass123';
const P = '{p}';

const redisAt = (port: number) => new Redis({ host: '127.0.0.1', port, password: PASSWORD, maxRetriesPerRequest: 0, retryStrategy: () => null });
async function info(port: number, section: string): Promise<Record<string, string>> {
  const r = redisAt(port);
  try {
    const text = await r.info(section);
    return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
  } finally {
    r.disconnect();
  }
}
const show = async () => (await admin.get(`/v2/${P}/instances/${id}`)).body;
/** The newest task of the instance that `pick` chooses, once it has ended. */
async function finishedWhere(pick: (t: any) => boolean, what: string) {
  return waitFor(async () => {
    const t = (await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.tasks.find(pick);
    return t && ['SUCCESS', 'FAILED'].includes(t.status) && t;
  }, 60_000, what);
}
const finished = (name: string) => finishedWhere((t) => t.name === name, `${name} finished`);
const portOpen = (port: number) => new Promise<boolean>((resolve) => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

before(async () => {
  svc = await startService();
  admin = client(svc.url, svc.admin);
  const r = await admin.post(`/v2/${P}/instances`, { name: 'topology', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password: PASSWORD });
  id = r.body.instances[0].instance_id;
  await waitFor(async () => (await show()).status === 'RUNNING');
});

after(async () => {
  await svc?.stop();
});

test('swap without a replica → 400 DCS.4086, no task', async () => {
  const r = await admin.post(`/v2/${P}/instances/${id}/swap`, undefined);
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error_code, 'DCS.4086');
  assert.equal((await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.task_count, '0');
});

test('EXTEND: maxmemory changes and the task details carry old and new capacity', async () => {
  const r = await admin.post(`/v2/${P}/instances/${id}/resize`, { spec_code: 'redis.single.xu1.tiny.512', new_capacity: 0.5 });
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.job_id, /^[0-9a-f]{32}$/);
  const t = await finished('EXTEND');
  assert.equal(t.status, 'SUCCESS');
  assert.deepEqual(t.details, { old_capacity: '0.25', new_capacity: '0.5' });
  const c = redisAt((await show()).port);
  assert.deepEqual(await c.config('GET', 'maxmemory'), ['maxmemory', String(512 * 1024 * 1024)]);
  c.disconnect();
  assert.equal((await show()).capacity_minor, '0.5');
  assert.equal((await show()).spec_code, 'redis.single.xu1.tiny.512', 'the spec_code of the resize is shown (the provider\'s flavor)');
  const same = await admin.post(`/v2/${P}/instances/${id}/resize`, { new_capacity: 0.5 });
  assert.equal(same.body.error_code, 'DCS.4800');
  const sameSpec = await admin.post(`/v2/${P}/instances/${id}/resize`, { spec_code: 'redis.single.xu1.tiny.512', new_capacity: 0.5 });
  assert.equal(sameSpec.body.error_code, 'DCS.4800');
  // Another flavor at the same capacity: a task that records it, maxmemory unchanged.
  const renamed = await admin.post(`/v2/${P}/instances/${id}/resize`, { spec_code: 'redis.single.xu1.large.0.5', new_capacity: 0.5 });
  assert.equal(renamed.status, 200, renamed.text);
  await waitFor(async () => (await show()).spec_code === 'redis.single.xu1.large.0.5' && (await show()).task === null, 30_000, 'the new flavor shown');
  assert.equal((await show()).capacity_minor, '0.5');
  // An ha flavor for a single node would show a flavor the instance is not: refused, nothing changes.
  const ha = await admin.post(`/v2/${P}/instances/${id}/resize`, { spec_code: 'redis.ha.xu1.large.r2.1', new_capacity: 1 });
  assert.equal(ha.status, 400);
  assert.equal(ha.body.error_code, 'DCS.4800');
  assert.match(ha.body.error_msg, /createReplication/);
  assert.equal((await show()).spec_code, 'redis.single.xu1.large.0.5');
  assert.equal((await show()).capacity_minor, '0.5');
});

test('AddReplica: a replica redis-server follows the master and the instance shows it', async () => {
  const c = redisAt((await show()).port);
  await c.set('before-replica', 'v1');
  c.disconnect();
  const r = await admin.post(`/v2/${P}/instances/${id}/resize`, { change_type: 'createReplication' });
  assert.equal(r.status, 200, r.text);
  const t = await finished('AddReplica');
  assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
  assert.deepEqual(t.details, { old_replica_num: 0, new_replica_num: 1 });
  const inst = await show();
  assert.equal(inst.replica_count, 2);
  assert.equal(inst.spec_code, 'redis.ha.xu1.large.r2.0.5', 'the ha flavor of its size, as the topology is now');
  const replica = inst.nodes.find((n: any) => n.role === 'replica');
  assert.equal((await info(replica.port, 'replication')).master_link_status, 'up');
  assert.equal((await info(replica.port, 'replication')).role, 'slave');
  const ontoReplica = await admin.put(`/v2/${P}/instances/${id}`, { port: replica.port });
  assert.equal(ontoReplica.status, 400, ontoReplica.text);
  assert.equal(ontoReplica.body.error_code, 'DCS.4800');
  assert.match(ontoReplica.body.error_msg, new RegExp(`port ${replica.port} is this instance's ${replica.name} \\(a replica\\)`));
  const rc = redisAt(replica.port);
  assert.equal(await rc.get('before-replica'), 'v1');
  rc.disconnect();
});

test('switchover: the standby becomes master on the instance address, the old master follows, data kept', async () => {
  const before = await show();
  const c = redisAt(before.port);
  await c.set('before-swap', 'v2');
  c.disconnect();
  const oldMaster = before.nodes.find((n: any) => n.role === 'master');
  const standby = before.nodes.find((n: any) => n.role === 'replica');
  const r = await admin.post(`/v2/${P}/instances/${id}/swap`, undefined);
  assert.equal(r.status, 200, r.text);
  const t = await finished('masterStandbySwapJob');
  assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
  const after = await show();
  assert.equal(after.port, before.port, 'the instance address is unchanged');
  assert.equal(after.nodes.find((n: any) => n.name === standby.name).role, 'master');
  assert.equal(after.nodes.find((n: any) => n.name === oldMaster.name).role, 'replica');
  assert.equal((await info(after.port, 'replication')).role, 'master');
  const c2 = redisAt(after.port);
  assert.equal(await c2.get('before-swap'), 'v2');
  assert.equal(await c2.get('before-replica'), 'v1');
  await c2.set('after-swap', 'writable');
  c2.disconnect();
  const follower = after.nodes.find((n: any) => n.role === 'replica');
  await waitFor(async () => (await info(follower.port, 'replication')).master_link_status === 'up');
  // details name the new master (target_ip) and the old one (source_ip) where they now are.
  assert.equal(t.details.target_ip, `${after.ip}:${after.port}`);
  assert.equal(t.details.source_ip, `${after.ip}:${follower.port}`);
  assert.equal(t.details.node_name, standby.name);
});

test('UpdatePort: Redis listens on the new port, the old one is closed, replicas follow', async () => {
  const before = await show();
  const newPort = await freePort();
  const r = await admin.put(`/v2/${P}/instances/${id}`, { port: newPort });
  assert.equal(r.status, 204, r.text);
  const t = await finished('UpdatePort');
  assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
  assert.deepEqual(t.details, { old_port: before.port, new_port: newPort });
  const after = await show();
  assert.equal(after.port, newPort);
  assert.equal(await portOpen(before.port), false);
  const c = redisAt(newPort);
  assert.equal(await c.get('after-swap'), 'writable');
  c.disconnect();
  const replica = after.nodes.find((n: any) => n.role === 'replica');
  await waitFor(async () => {
    const i = await info(replica.port, 'replication');
    return i.master_link_status === 'up' && i.master_port === String(newPort);
  });
});

test('DelReplica: the replica process is stopped and the instance has none', async () => {
  const replica = (await show()).nodes.find((n: any) => n.role === 'replica');
  const bad = await admin.post(`/v2/${P}/instances/${id}/resize`, { change_type: 'deleteReplication', node_list: ['node-9'] });
  assert.equal(bad.body.error_code, 'DCS.4800');
  const r = await admin.post(`/v2/${P}/instances/${id}/resize`, { change_type: 'deleteReplication', node_list: [replica.name] });
  assert.equal(r.status, 200, r.text);
  const t = await finished('DelReplica');
  assert.equal(t.status, 'SUCCESS');
  assert.deepEqual(t.details, { old_replica_num: 1, new_replica_num: 0 });
  assert.equal(await portOpen(replica.port), false);
  assert.equal((await show()).replica_count, 1);
  assert.equal((await show()).spec_code, 'redis.single.xu1.large.0.5', 'the single flavor of its size again');
});

test('the provider\'s resize bodies: change_type "" is a capacity change, instanceType turns single into ha and back', async () => {
  const resize = (body: object) => admin.post(`/v2/${P}/instances/${id}/resize`, body);
  const tasks = async () => Number((await admin.get(`/v2/${P}/instances/${id}/tasks`)).body.task_count);
  const job = (jobId: string) => finishedWhere((t) => t.id === jobId, `task ${jobId} finished`);
  /** A change of type to `spec_code`: the task it runs succeeds; the instance as shown after. */
  const changeType = async (spec_code: string, taskName: string) => {
    const r = await resize({ spec_code, new_capacity: 1, change_type: 'instanceType' });
    assert.equal(r.status, 200, r.text);
    const t = await job(r.body.job_id);
    assert.equal(t.name, taskName);
    assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
    return show();
  };
  const r = await resize({ spec_code: 'redis.single.xu1.large.1', new_capacity: 1, change_type: '' });
  assert.equal(r.status, 200, r.text);
  assert.equal((await job(r.body.job_id)).status, 'SUCCESS');
  assert.equal((await show()).capacity, 1);

  const before = await tasks();
  for (const body of [
    { spec_code: 'redis.ha.xu1.large.r2.2', new_capacity: 2, change_type: 'instanceType' }, // type and capacity at once
    { spec_code: 'redis.single.xu1.large.1', new_capacity: 1, change_type: 'instanceType' }, // single already
    { new_capacity: 1, change_type: 'instanceType' }, // no flavor of the new type
  ]) {
    const refused = await resize(body);
    assert.equal(refused.status, 400, JSON.stringify(body));
    assert.equal(refused.body.error_code, 'DCS.4800', refused.text);
  }
  assert.equal(await tasks(), before, 'refusals start no task');

  const ha = await changeType('redis.ha.xu1.large.r2.1', 'AddReplica');
  assert.equal(ha.spec_code, 'redis.ha.xu1.large.r2.1');
  assert.equal(ha.cache_mode, 'ha');
  assert.equal(ha.replica_count, 2);
  const replica = ha.nodes.find((n: any) => n.role === 'replica');
  assert.equal((await info(replica.port, 'replication')).master_link_status, 'up');

  const single = await changeType('redis.single.xu1.large.1', 'DelReplica');
  assert.equal(single.spec_code, 'redis.single.xu1.large.1');
  assert.equal(single.cache_mode, 'single');
  assert.equal(single.replica_count, 1);
  assert.equal(await portOpen(replica.port), false);
});

test('a port another instance records is refused on create and on UpdatePort (400 DCS.4800), and nothing changes', async () => {
  const taken: number = (await show()).port;
  const create = { engine: 'Redis', engine_version: '7.0', capacity: 0.25, password: PASSWORD };
  const before = (await admin.get(`/v2/${P}/instances`)).body.instance_num;
  const r = await admin.post(`/v2/${P}/instances`, { ...create, name: 'same-port', port: taken });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error_code, 'DCS.4800');
  assert.match(r.body.error_msg, new RegExp(`port ${taken} belongs to another instance`));
  assert.equal((await admin.get(`/v2/${P}/instances`)).body.instance_num, before);

  const other = await admin.post(`/v2/${P}/instances`, { ...create, name: 'other-port' });
  assert.equal(other.status, 200, other.text);
  const otherId: string = other.body.instances[0].instance_id;
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${otherId}`)).body.status === 'RUNNING');
  const otherPort: number = (await admin.get(`/v2/${P}/instances/${otherId}`)).body.port;
  const move = await admin.put(`/v2/${P}/instances/${otherId}`, { port: taken });
  assert.equal(move.status, 400, move.text);
  assert.match(move.body.error_msg, new RegExp(`port ${taken} belongs to another instance`));
  assert.equal((await admin.get(`/v2/${P}/instances/${otherId}/tasks`)).body.task_count, '0');
  assert.equal((await admin.get(`/v2/${P}/instances/${otherId}`)).body.port, otherPort);
  assert.equal((await admin.del(`/v2/${P}/instances/${otherId}`)).status, 204);
});

test('creates racing for one free port: one instance gets it and runs, the others are refused, none is left CREATEFAILED', async () => {
  const port = await freePort();
  const create = (k: number) => admin.post(`/v2/${P}/instances`, {
    name: `race-${k}`, engine: 'Redis', engine_version: '7.0', capacity: 0.25, password: PASSWORD, port,
  });
  const answers = await Promise.all([0, 1, 2].map(create));
  const accepted = answers.filter((a) => a.status === 200);
  assert.equal(accepted.length, 1, answers.map((a) => a.text).join('\n'));
  for (const a of answers.filter((x) => x.status !== 200)) {
    assert.equal(a.status, 400, a.text);
    assert.match(a.body.error_msg, new RegExp(`port ${port} belongs to another instance`));
  }
  const winner: string = accepted[0]!.body.instances[0].instance_id;
  await waitFor(async () => (await admin.get(`/v2/${P}/instances/${winner}`)).body.status === 'RUNNING');
  const all = (await admin.get(`/v2/${P}/instances`)).body.instances;
  assert.deepEqual(all.filter((i: any) => i.name.startsWith('race-')).map((i: any) => [i.name, i.status, i.port]),
    [[accepted[0]!.body.instances[0].instance_name, 'RUNNING', port]]);
  assert.equal(await portOpen(port), true);
  assert.equal((await admin.del(`/v2/${P}/instances/${winner}`)).status, 204);
});

test('a port an UpdatePort asked for is held from its request on: port changes and a create racing for it are refused, one instance ends on it', async () => {
  const make = async (name: string) => {
    const r = await admin.post(`/v2/${P}/instances`, { name, engine: 'Redis', engine_version: '7.0', capacity: 0.25, password: PASSWORD });
    assert.equal(r.status, 200, r.text);
    const instanceId: string = r.body.instances[0].instance_id;
    await waitFor(async () => (await admin.get(`/v2/${P}/instances/${instanceId}`)).body.status === 'RUNNING');
    return instanceId;
  };
  const movers = [await make('mover-a'), await make('mover-b')];
  const port = await freePort();
  const answers = await Promise.all([
    ...movers.map((m) => admin.put(`/v2/${P}/instances/${m}`, { port })),
    admin.post(`/v2/${P}/instances`, { name: 'mover-c', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password: PASSWORD, port }),
  ]);
  const won = answers.filter((a) => a.status === 200 || a.status === 204);
  assert.equal(won.length, 1, answers.map((a) => `${a.status} ${a.text}`).join('\n'));
  for (const a of answers.filter((x) => !won.includes(x))) {
    assert.equal(a.status, 400, a.text);
    assert.match(a.body.error_msg, new RegExp(`port ${port} (belongs to another instance|is already in use on this host)`));
  }
  const ids = [...movers, ...(answers[2]!.status === 200 ? [answers[2]!.body.instances[0].instance_id as string] : [])];
  const settled = await waitFor(async () => {
    const all = await Promise.all(ids.map(async (x) => (await admin.get(`/v2/${P}/instances/${x}`)).body));
    return all.every((s) => s.task === null && s.status === 'RUNNING') && all;
  }, 60_000, 'every instance settled RUNNING');
  const onPort = settled.filter((s: any) => s.port === port);
  assert.equal(onPort.length, 1, JSON.stringify(settled.map((s: any) => [s.name, s.port, s.status])));
  // The server on the port is that instance's own (its node directory), not another's.
  const r = redisAt(port);
  const dir = await r.config('GET', 'dir').finally(() => r.disconnect()) as string[];
  assert.ok(dir[1]!.includes(onPort[0].instance_id), `${dir[1]} is not ${onPort[0].name}'s`);
  for (const x of ids) assert.equal((await admin.del(`/v2/${P}/instances/${x}`)).status, 204);
});

test('an instance created without spec_code shows the ha flavor of its size once given a replica, the single one once left without', async () => {
  const r = await admin.post(`/v2/${P}/instances`, { name: 'no-spec', engine: 'Redis', engine_version: '7.0', capacity: 0.25, password: PASSWORD });
  assert.equal(r.status, 200, r.text);
  const x: string = r.body.instances[0].instance_id;
  const settled = (replicas: number) => waitFor(async () => {
    const s = (await admin.get(`/v2/${P}/instances/${x}`)).body;
    return s.status === 'RUNNING' && s.task === null && s.replica_count === replicas && s;
  }, 60_000, `${replicas - 1} replica(s)`);
  assert.equal((await settled(1)).spec_code, '');
  assert.equal((await admin.post(`/v2/${P}/instances/${x}/resize`, { change_type: 'createReplication' })).status, 200);
  assert.equal((await settled(2)).spec_code, 'redis.ha.xu1.tiny.r2.256');
  assert.equal((await admin.post(`/v2/${P}/instances/${x}/resize`, { change_type: 'deleteReplication' })).status, 200);
  assert.equal((await settled(1)).spec_code, 'redis.single.xu1.tiny.256');
  assert.equal((await admin.del(`/v2/${P}/instances/${x}`)).status, 204);
});
