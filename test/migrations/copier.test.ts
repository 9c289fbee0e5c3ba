/**
 * The full copy against real redis-servers, below the HTTP layer: every key (of every type,
 * binary names, several databases) arrives with its value and TTL whether both sides run the
 * batch scripts or a side refuses scripts (EVAL renamed away) and the copy falls back to
 * pipelines; progress is saved in order, a stop saves where it stopped, a resume from there
 * completes the copy, and a page of big keys is restored in slices the target accepts; a
 * throttled copy is stopped within its page.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { fullCopy, open, type CopyHooks } from '../../src/migrations/copier.js';
import type { CopyProgress } from '../../src/migrations/records.js';
import { startRedis } from '../helpers/redis.js';
import { assertSameKeys, seed } from '../helpers/keyspace.js';

const NO_SCRIPTS = ['--rename-command', 'EVAL', ''];
const BINARY_KEY = Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0x80]);
const FRESH: CopyProgress = { db: 0, cursor: '0', copied: 0, total: 0, done: false };
const stops: (() => Promise<void>)[] = [];
after(() => Promise.all(stops.map((stop) => stop())));

/** Copy hooks that never stop, fence or limit, unless told otherwise. */
function hooks(over: Partial<CopyHooks> = {}): CopyHooks {
  return {
    signal: new AbortController().signal, beforeEffect: () => {}, stopRequested: async () => false,
    saveProgress: async () => {}, bytesPerSecond: null, ...over,
  };
}

/**
 * A source seeded by `fill` and an empty target (redis-servers started with the given arguments);
 * `body` gets the copier's connections, `src` and `dst`, and plain clients of both, `a` and `b`.
 */
async function onPair(
  args: { source?: string[]; target?: string[] },
  fill: (a: Redis) => Promise<void>,
  body: (c: { src: Redis; dst: Redis; a: Redis; b: Redis }) => Promise<void>,
): Promise<void> {
  const [source, target] = [await startRedis(null, args.source ?? []), await startRedis(null, args.target ?? [])];
  stops.push(source.stop, target.stop);
  const [a, b] = [source.client(), target.client()];
  await fill(a);
  const at = (port: number) => ({ host: '127.0.0.1', port, password: null });
  const [src, dst] = [await open(at(source.port), 'source'), await open(at(target.port), 'target')];
  try {
    await body({ src, dst, a, b });
  } finally {
    for (const r of [src, dst, a, b]) r.disconnect();
  }
}

async function copyBetween(args: { source?: string[]; target?: string[] }, over: Partial<CopyHooks> = {}): Promise<void> {
  const fill = async (a: Redis) => {
    await seed(a, 2500, 0);
    await seed(a, 1200, 3);
    await a.set(BINARY_KEY, Buffer.from([0, 1, 2, 0xfe]), 'PX', 500_000);
  };
  await onPair(args, fill, async ({ src, dst, a, b }) => {
    const saved: CopyProgress[] = [];
    const end = await fullCopy(src, dst, FRESH, hooks({ ...over, saveProgress: async (p) => { saved.push(p); } }));
    assert.equal(end.done, true);
    assert.equal(end.total, 3701);
    assert.equal(end.copied, 3701);
    assert.ok(saved.length > 0, 'progress was saved');
    assert.deepEqual(saved.map((p) => p.copied), saved.map((p) => p.copied).sort((x, y) => x - y), 'progress saved in order');
    assert.deepEqual(saved.at(-1), { ...end, done: false }, 'the last save is the end of the last database');
    // assertSameKeys reads names as text, so the binary name is checked on its own.
    assert.equal(await assertSameKeys(a, b, 0, over.sourceScanCommand), 2500);
    assert.equal(await assertSameKeys(a, b, 3, over.sourceScanCommand), 1200);
    assert.deepEqual(await b.getBuffer(BINARY_KEY), Buffer.from([0, 1, 2, 0xfe]));
    assert.ok(Math.abs((await b.pttl(BINARY_KEY)) - (await a.pttl(BINARY_KEY))) <= 2000, 'TTL of the binary key');
  });
}

test('both sides run the batch scripts: every key, value and TTL arrives', () => copyBetween({}));
test('the source refuses scripts: SCAN + pipelined PTTL/DUMP, every key arrives', () => copyBetween({ source: NO_SCRIPTS }));
test('the target refuses scripts: pipelined RESTOREs, every key arrives', () => copyBetween({ target: NO_SCRIPTS }));
const SCAN_RENAMED = ['--rename-command', 'SCAN', 'walk-keys'];
test('the source knows SCAN by another name: the copy scans with it, in the script and without', async () => {
  await copyBetween({ source: SCAN_RENAMED }, { sourceScanCommand: 'walk-keys' });
  await copyBetween({ source: [...SCAN_RENAMED, ...NO_SCRIPTS] }, { sourceScanCommand: 'walk-keys' });
});

test('a stop saves the progress it returns; a copy resumed from it brings every key', () =>
  onPair({}, (a) => seed(a, 20_000, 0), async ({ src, dst, a, b }) => {
    const saved: CopyProgress[] = [];
    let asked = 0;
    const stopAfter = (n: number) => hooks({ stopRequested: async () => ++asked > n, saveProgress: async (p) => { saved.push(p); } });
    const stopped = await fullCopy(src, dst, FRESH, stopAfter(3));
    assert.equal(stopped.done, false);
    // Three SCAN pages of about 1000 keys were copied before the stop.
    assert.ok(stopped.copied > 2000 && stopped.copied < 4000, `copied ${stopped.copied} before the stop`);
    assert.notEqual(stopped.cursor, '0');
    assert.deepEqual(saved.at(-1), stopped, 'the progress a stop returns is saved');

    const end = await fullCopy(src, dst, saved.at(-1)!, stopAfter(Infinity));
    assert.equal(end.done, true);
    assert.ok(end.copied >= 20_000, `copied ${end.copied}`);
    assert.equal(await assertSameKeys(a, b, 0), 20_000);
  }));

test('a batch larger than the target accepts as one argument is restored in slices', async () => {
  // 12 random (incompressible) values of 5 MB: one SCAN page of 60 MB, more than the target's 40 MB argument limit.
  const values = Array.from({ length: 12 }, () => randomBytes(5 * 1024 * 1024));
  const fill = async (a: Redis) => { for (const [i, v] of values.entries()) await a.set(`big:${i}`, v); };
  await onPair({ target: ['--proto-max-bulk-len', '40mb'] }, fill, async ({ src, dst, b }) => {
    const end = await fullCopy(src, dst, FRESH, hooks());
    assert.equal(end.copied, 12);
    for (const [i, v] of values.entries()) assert.ok(v.equals((await b.getBuffer(`big:${i}`))!), `big:${i}`);
  });
});

test('a stop lands mid-page in a throttled copy: 80 keys of 100 KB at 1 MB/s, stopped at 0.7 s, returns within 5 s of it', () => {
  // Random bytes: DUMP would compress a repetitive value to almost nothing.
  const fill = async (a: Redis) => { for (let i = 0; i < 80; i++) await a.set(`t:${i}`, randomBytes(100 * 1024)); };
  return onPair({}, fill, async ({ src, dst, b }) => {
    const started = Date.now();
    const stopAt = started + 700;
    const saved: CopyProgress[] = [];
    const end = await fullCopy(src, dst, FRESH, hooks({
      bytesPerSecond: 1024 * 1024, stopRequested: async () => Date.now() >= stopAt, saveProgress: async (p) => { saved.push(p); },
    }));
    // One SCAN page holds all 80 keys: waited for as one, the copy ran its 8 s and ignored the stop.
    assert.ok(Date.now() - stopAt < 5000, `returned ${Date.now() - stopAt} ms after the stop`);
    assert.equal(end.done, false);
    assert.ok(end.copied > 0 && end.copied < 80, `copied ${end.copied}`);
    assert.equal(await b.dbsize(), end.copied, 'what was copied stays, and is what the progress says');
    assert.deepEqual(saved.at(-1), end);
  });
});

test('a stop before the first page is read: the read already sent, then cut off, rejects nowhere unhandled', () =>
  onPair({}, (a) => seed(a, 100, 0), async ({ src, dst, a }) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      // The source holds the page read (a script), so the read sent ahead still waits when the copy stops.
      await a.call('CLIENT', 'PAUSE', '5000', 'WRITE'); // EVAL waits (it may write); INFO and SELECT do not
      const p = await fullCopy(src, dst, FRESH, hooks({ stopRequested: async () => true }));
      assert.equal(p.done, false);
      src.disconnect(); // what the run does once the copy returns: the waiting read is rejected
      await new Promise<void>((resolve) => src.once('end', () => resolve()));
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r)); // unhandled rejections are reported by now
      assert.deepEqual(unhandled.map(String), []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await a.call('CLIENT', 'UNPAUSE');
    }
  }));
