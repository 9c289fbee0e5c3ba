/**
 * The full copy against real redis-servers, below the HTTP layer: every key (of every type,
 * binary names, several databases) arrives with its value and TTL whether both sides run the
 * batch scripts or a side refuses scripts (EVAL renamed away) and the copy falls back to
 * pipelines; progress is saved in order and ends at the key count.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fullCopy, open } from '../../src/migrations/copier.js';
import type { CopyProgress } from '../../src/migrations/records.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { assertSameKeys, seed } from '../helpers/keyspace.js';

const NO_SCRIPTS = ['--rename-command', 'EVAL', ''];
const BINARY_KEY = Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0x80]);
const servers: TestRedis[] = [];
after(() => Promise.all(servers.map((s) => s.stop())));

async function copyBetween(srcArgs: string[], dstArgs: string[]): Promise<void> {
  const [source, target] = [await startRedis(null, srcArgs), await startRedis(null, dstArgs)];
  servers.push(source, target);
  const seeder = source.client();
  await seed(seeder, 2500, 0);
  await seed(seeder, 1200, 3);
  await seeder.set(BINARY_KEY, Buffer.from([0, 1, 2, 0xfe]), 'PX', 500_000);
  seeder.disconnect();

  const at = (port: number) => ({ host: '127.0.0.1', port, password: null });
  const [src, dst] = [await open(at(source.port), 'source'), await open(at(target.port), 'target')];
  try {
    const saved: CopyProgress[] = [];
    const end = await fullCopy(src, dst, { db: 0, cursor: '0', copied: 0, total: 0, done: false }, {
      signal: new AbortController().signal,
      beforeEffect: () => {},
      stopRequested: async () => false,
      saveProgress: async (p) => { saved.push(p); },
      bytesPerSecond: null,
    });
    assert.equal(end.done, true);
    assert.equal(end.total, 3701);
    assert.equal(end.copied, 3701);
    assert.ok(saved.length > 0, 'progress was saved');
    assert.deepEqual(saved.map((p) => p.copied), saved.map((p) => p.copied).sort((a, b) => a - b), 'progress saved in order');
    assert.deepEqual(saved.at(-1), { ...end, done: false }, 'the last save is the end of the last database');

    const [a, b] = [source.client(), target.client()];
    try {
      // assertSameKeys reads names as text, so the binary name is checked on its own.
      assert.equal(await assertSameKeys(a, b, 0), 2500);
      assert.equal(await assertSameKeys(a, b, 3), 1200);
      assert.deepEqual(await b.getBuffer(BINARY_KEY), Buffer.from([0, 1, 2, 0xfe]));
      assert.ok(Math.abs((await b.pttl(BINARY_KEY)) - (await a.pttl(BINARY_KEY))) <= 2000, 'TTL of the binary key');
    } finally {
      a.disconnect();
      b.disconnect();
    }
  } finally {
    src.disconnect();
    dst.disconnect();
  }
}

test('both sides run the batch scripts: every key, value and TTL arrives', () => copyBetween([], []));
test('the source refuses scripts: SCAN + pipelined PTTL/DUMP, every key arrives', () => copyBetween(NO_SCRIPTS, []));
test('the target refuses scripts: pipelined RESTOREs, every key arrives', () => copyBetween([], NO_SCRIPTS));

test('a stop saves the progress it returns; a copy resumed from it brings every key', async () => {
  const [source, target] = [await startRedis(), await startRedis()];
  servers.push(source, target);
  const seeder = source.client();
  await seed(seeder, 20_000, 0);
  seeder.disconnect();
  const at = (port: number) => ({ host: '127.0.0.1', port, password: null });
  const [src, dst] = [await open(at(source.port), 'source'), await open(at(target.port), 'target')];
  try {
    const saved: CopyProgress[] = [];
    let asked = 0;
    const hooks = (stopAfter: number) => ({
      signal: new AbortController().signal,
      beforeEffect: () => {},
      stopRequested: async () => ++asked > stopAfter,
      saveProgress: async (p: CopyProgress) => { saved.push(p); },
      bytesPerSecond: null,
    });
    const stopped = await fullCopy(src, dst, { db: 0, cursor: '0', copied: 0, total: 0, done: false }, hooks(3));
    assert.equal(stopped.done, false);
    // Three SCAN pages of about 1000 keys were copied before the stop.
    assert.ok(stopped.copied > 2000 && stopped.copied < 4000, `copied ${stopped.copied} before the stop`);
    assert.notEqual(stopped.cursor, '0');
    assert.deepEqual(saved.at(-1), stopped, 'the progress a stop returns is saved');

    const end = await fullCopy(src, dst, saved.at(-1)!, hooks(Infinity));
    assert.equal(end.done, true);
    assert.ok(end.copied >= 20_000, `copied ${end.copied}`);
    const [a, b] = [source.client(), target.client()];
    try {
      assert.equal(await assertSameKeys(a, b, 0), 20_000);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  } finally {
    src.disconnect();
    dst.disconnect();
  }
});

test('a batch larger than the target accepts as one argument is restored in slices', async () => {
  // 12 random (incompressible) values of 5 MB: one SCAN page of 60 MB, more than the target's 40 MB argument limit.
  const [source, target] = [await startRedis(), await startRedis(null, ['--proto-max-bulk-len', '40mb'])];
  servers.push(source, target);
  const values = Array.from({ length: 12 }, (_, i) => randomBytes(5 * 1024 * 1024));
  const seeder = source.client();
  for (const [i, v] of values.entries()) await seeder.set(`big:${i}`, v);
  seeder.disconnect();
  const at = (port: number) => ({ host: '127.0.0.1', port, password: null });
  const [src, dst] = [await open(at(source.port), 'source'), await open(at(target.port), 'target')];
  try {
    const end = await fullCopy(src, dst, { db: 0, cursor: '0', copied: 0, total: 0, done: false }, {
      signal: new AbortController().signal, beforeEffect: () => {}, stopRequested: async () => false,
      saveProgress: async () => {}, bytesPerSecond: null,
    });
    assert.equal(end.copied, 12);
    for (const [i, v] of values.entries()) assert.ok(v.equals((await dst.getBuffer(`big:${i}`))!), `big:${i}`);
  } finally {
    src.disconnect();
    dst.disconnect();
  }
});
