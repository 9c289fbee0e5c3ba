/**
 * Walks a Redis keyspace the way DCS's key analyses do (records.md §3–5): every non-empty
 * database (INFO keyspace) with `SCAN <cursor> COUNT <n>` until the cursor returns to 0. Reads
 * only; SCAN itself deletes the expired keys it visits, which is what expired-key scans rely on.
 */
import type { Redis } from 'ioredis';
import { commandName, withRedis, type RedisTarget } from './commands.js';

export type KeyType = 'string' | 'list' | 'set' | 'zset' | 'hash';

/** A key seen by the walk; the name stays bytes until shown. */
export interface SeenKey {
  name: Buffer;
  db: number;
  type: KeyType;
  size: number;
  freq?: number;
}

/** How each analysed type is sized: bytes for strings, elements otherwise. */
const SIZE_OF: Record<KeyType, string> = { string: 'strlen', list: 'llen', set: 'scard', zset: 'zcard', hash: 'hlen' };

/** A Redis error that OBJECT FREQ gives when the maxmemory policy is not LFU. */
export class NotLfu extends Error {
  override readonly name = 'NotLfu';
}

async function nonEmptyDatabases(r: Redis): Promise<number[]> {
  const text = await r.info('keyspace');
  return [...text.matchAll(/^db(\d+):keys=(\d+)/gm)].filter((m) => Number(m[2]) > 0).map((m) => Number(m[1]));
}

/** Runs a pipeline and returns each reply, null where a command failed. */
async function replies(r: Redis, commands: (string | Buffer)[][]): Promise<{ err: Error | null; value: unknown }[]> {
  const out = (await r.pipeline(commands as [string, ...(string | Buffer)[]][]).exec()) ?? [];
  return out.map(([err, value]) => ({ err, value }));
}

export interface WalkOptions {
  /** keys per SCAN iteration */
  count: number;
  signal: AbortSignal;
  /** read OBJECT FREQ first (hot keys): it does not touch the key */
  withFreq?: boolean;
  /** only SCAN, no per-key reads (expired-key scans) */
  scanOnly?: boolean;
  /** stop (returning false) once this epoch-ms time has passed */
  deadline?: number;
}

/**
 * Calls `onKey` for every string/list/set/zset/hash key (streams and module types are skipped,
 * keys gone meanwhile too). `target.beforeEffect` (the task's lease check) runs before every
 * SCAN. Returns false when the deadline stopped the walk, true when it went all the way.
 */
export async function walkKeyspace(target: RedisTarget, o: WalkOptions, onKey: (k: SeenKey) => void = () => {}): Promise<boolean> {
  const scan = commandName(target, 'scan');
  return withRedis(target, async (r) => {
    for (const db of await nonEmptyDatabases(r)) {
      await r.select(db);
      let cursor = '0';
      do {
        o.signal.throwIfAborted();
        if (o.deadline !== undefined && Date.now() > o.deadline) return false;
        target.beforeEffect?.();
        const [next, keys] = (await r.callBuffer(scan, cursor, 'COUNT', String(o.count))) as [Buffer, Buffer[]];
        cursor = String(next);
        if (!o.scanOnly && keys.length) await readKeys(r, db, keys, o.withFreq === true, onKey);
      } while (cursor !== '0');
    }
    return true;
  }, { timeoutMs: 60_000 });
}

async function readKeys(r: Redis, db: number, keys: Buffer[], withFreq: boolean, onKey: (k: SeenKey) => void): Promise<void> {
  const freqs = withFreq ? await replies(r, keys.map((k) => ['object', 'freq', k])) : null;
  const lfuError = freqs?.find((f) => f.err && /LFU/i.test(f.err.message));
  if (lfuError) throw new NotLfu(lfuError.err!.message.split('\n')[0]);
  const types = await replies(r, keys.map((k) => ['type', k]));
  const known = keys.map((k, j) => ({ k, j, type: String(types[j].value) as KeyType })).filter((x) => x.type in SIZE_OF);
  const sizes = await replies(r, known.map((x) => [SIZE_OF[x.type], x.k]));
  known.forEach((x, n) => {
    const size = sizes[n];
    const freq = freqs?.[x.j];
    if (size.err || (freq && (freq.err || freq.value === null))) return; // gone or changed type meanwhile
    onKey({ name: x.k, db, type: x.type, size: Number(size.value), ...(freq ? { freq: Number(freq.value) } : {}) });
  });
}

/** Redis's version as [major, minor] from INFO server. */
export async function redisVersion(target: RedisTarget): Promise<[number, number]> {
  const text = await withRedis(target, (r) => r.info('server'));
  const m = /redis_version:(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** INFO stats expired_keys: every key Redis has expired since it started. */
export async function expiredKeysCount(target: RedisTarget): Promise<number> {
  const text = await withRedis(target, (r) => r.info('stats'));
  const m = /expired_keys:(\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}
