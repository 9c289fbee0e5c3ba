/**
 * What a migration does to Redis (automation.md §4.7). The full copy walks every database of the
 * source with SCAN and moves each key with PTTL + DUMP / RESTORE … REPLACE, pipelined per batch;
 * the incremental phase makes the target a replica of the source (REPLICAOF) until stopped.
 * Every write to the target is preceded by `beforeEffect` (the run's lease check); progress is
 * reported after each batch so a restarted run resumes from the database and cursor it reached.
 */
import type { Redis } from 'ioredis';
import { connectRedis, type RedisTarget } from '../redis/commands.js';
import type { CopyProgress } from './records.js';

/** A Redis error reply (the target refused a payload, a wrong password…): retrying will not help. */
export class RedisRefused extends Error {
  override readonly name = 'RedisRefused';
}

/** The run is being interrupted (shutdown, lease lost): leave it resumable. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

export interface CopyHooks {
  signal: AbortSignal;
  /** Throws unless the run still owns its lease; called right before every write to the target. */
  beforeEffect(): void;
  /** Durable progress after each batch. */
  saveProgress(p: CopyProgress): Promise<void>;
  /** Whether a stop was requested (the caller decides how often it really asks the store). */
  stopRequested(): Promise<boolean>;
  /** Payload bytes per second, or null for no limit. */
  bytesPerSecond: number | null;
}

const SCAN_COUNT = 1000;
/** Progress saves not yet committed, at most. */
const SAVES_IN_FLIGHT = 8;

/** Connects with a generous command timeout (a DUMP of a big key takes a while) and checks AUTH. */
export async function open(t: RedisTarget, what: string): Promise<Redis> {
  const r = connectRedis(t, { timeoutMs: 15_000 });
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    r.disconnect();
    throw asMigrationError(e, `${what} ${t.host}:${t.port}`);
  }
  return r;
}

/** Redis error replies become RedisRefused (not retried); anything else stays a connection problem. */
export function asMigrationError(e: unknown, where: string): Error {
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].replace(/(AUTH|masterauth)\s+\S+/gi, '$1 ***').slice(0, 300);
  const name = e instanceof Error ? e.name : '';
  if (name === 'ReplyError' || /^(ERR|WRONGPASS|NOAUTH|NOPERM|BUSYKEY|READONLY|OOM|LOADING)\b/.test(msg)) return new RedisRefused(`${where}: ${msg}`);
  return new Error(`${where}: ${msg}`);
}

/** The databases that hold keys, with their key counts (INFO keyspace). */
export async function keyspace(r: Redis): Promise<{ db: number; keys: number }[]> {
  const text = await r.info('keyspace');
  const out: { db: number; keys: number }[] = [];
  for (const m of text.matchAll(/^db(\d+):keys=(\d+)/gm)) out.push({ db: Number(m[1]), keys: Number(m[2]) });
  return out.sort((a, b) => a.db - b.db);
}

/** Sum of the keys of every database, or null when the Redis cannot be reached. */
export async function totalKeys(t: RedisTarget): Promise<number | null> {
  const r = connectRedis(t, { timeoutMs: 2000 });
  try {
    await r.connect();
    return (await keyspace(r)).reduce((a, d) => a + d.keys, 0);
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

/**
 * Copies every key from `src` to `dst`, starting at `from` (a saved progress, or a fresh one).
 * Returns the final progress, with `done` set unless a stop was requested first. The source's
 * side (SCAN, PTTL, DUMP of the next batches) runs ahead of the target's (RESTORE of the current
 * one), up to AHEAD batches, so both servers work at once; progress is saved in order, after each
 * batch is restored.
 */
export async function fullCopy(src: Redis, dst: Redis, from: CopyProgress, h: CopyHooks): Promise<CopyProgress> {
  const dbs = await keyspace(src);
  let p: CopyProgress = from.total === 0 && from.copied === 0 && from.db === 0 && from.cursor === '0'
    ? { ...from, total: dbs.reduce((a, d) => a + d.keys, 0) }
    : { ...from };
  const started = Date.now();
  let bytes = 0;
  const reader = new BatchReader(src);
  const saving: Promise<void>[] = [];
  for (const { db } of dbs) {
    if (db < p.db) continue;
    await src.select(db);
    await dst.select(db);
    const batches = reader.batches(db === p.db ? p.cursor : '0');
    for (;;) {
      if (h.signal.aborted) throw new Interrupted('interrupted');
      if (await h.stopRequested()) {
        await Promise.all(saving);
        return p;
      }
      const { cursor, dumped } = await batches.next();
      if (dumped.length) {
        if (h.bytesPerSecond) {
          bytes += dumped.reduce((a, d) => a + d.payload.length, 0);
          const due = started + (bytes / h.bytesPerSecond) * 1000;
          if (due > Date.now()) await new Promise((res) => setTimeout(res, due - Date.now()));
        }
        h.beforeEffect();
        await restoreBatch(dst, dumped);
        p = { ...p, copied: p.copied + dumped.length };
      }
      p = cursor === '0' ? { ...p, db: db + 1, cursor: '0' } : { ...p, db, cursor };
      // Saves overlap the next batches' work and share commits (the store's group commit); they
      // are issued in order, so whatever was committed last is a point every earlier key reached.
      saving.push(h.saveProgress(p));
      saving.at(-1)!.catch(() => {}); // reported when awaited, in order
      if (saving.length > SAVES_IN_FLIGHT) await saving.shift();
      if (cursor === '0') break;
    }
  }
  await Promise.all(saving);
  return { ...p, done: true };
}

interface Dumped {
  key: Buffer;
  ttl: number;
  payload: Buffer;
}

/** How many batches the source side may read ahead of the target side. */
const AHEAD = 2;

/**
 * SCAN + PTTL + DUMP of one batch in one round trip (a script on the source), or, where the
 * source refuses scripts, SCAN then a pipeline of PTTL + DUMP.
 */
const DUMP_SCRIPT = `local c = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2]) local out = {c[1]}
for _, k in ipairs(c[2]) do local t = redis.call('PTTL', k) if t ~= -2 then local d = redis.call('DUMP', k)
if d then out[#out+1] = k out[#out+1] = t out[#out+1] = d end end end return out`;

class BatchReader {
  private scripted = true;

  constructor(private readonly src: Redis) {}

  /** Batches of one database from `cursor` on, read ahead; `next()` gives them in order until the one with cursor '0'. */
  batches(cursor: string): { next(): Promise<{ cursor: string; dumped: Dumped[] }> } {
    type Batch = { cursor: string; dumped: Dumped[] } | null;
    let tail: Promise<Batch> = this.read(cursor);
    const queue: Promise<Batch>[] = [tail];
    const more = () => {
      while (queue.length < AHEAD) {
        tail = tail.then((b) => (b && b.cursor !== '0' ? this.read(b.cursor) : null));
        tail.catch(() => {}); // reported by next(), in order
        queue.push(tail);
      }
    };
    return {
      next: async () => {
        more();
        const b = await queue.shift()!;
        if (!b) throw new Error('read past the end of the database');
        return b;
      },
    };
  }

  private async read(cursor: string): Promise<{ cursor: string; dumped: Dumped[] }> {
    if (this.scripted) {
      try {
        const r = (await this.src.callBuffer('EVAL', DUMP_SCRIPT, '0', cursor, String(SCAN_COUNT))) as (Buffer | number)[];
        const dumped: Dumped[] = [];
        for (let i = 1; i + 2 < r.length; i += 3) {
          const ttl = Number(r[i + 1]);
          dumped.push({ key: r[i] as Buffer, ttl: ttl > 0 ? ttl : 0, payload: r[i + 2] as Buffer });
        }
        return { cursor: (r[0] as Buffer).toString(), dumped };
      } catch (e) {
        if (!/NOSCRIPT|unknown command|NOPERM|disabled|not allowed/i.test((e as Error).message)) throw e;
        this.scripted = false;
      }
    }
    const [next, keys] = await this.src.scanBuffer(cursor, 'COUNT', SCAN_COUNT);
    return { cursor: next.toString(), dumped: keys.length ? await dumpBatch(this.src, keys) : [] };
  }
}

async function dumpBatch(src: Redis, keys: Buffer[]): Promise<Dumped[]> {
  const pipe = src.pipeline();
  for (const k of keys) pipe.pttl(k).dumpBuffer(k);
  const res = (await pipe.exec()) ?? [];
  const out: Dumped[] = [];
  for (let i = 0; i < keys.length; i++) {
    const [e1, ttl] = res[2 * i] ?? [];
    const [e2, payload] = res[2 * i + 1] ?? [];
    if (e1 || e2) throw asMigrationError(e1 ?? e2, 'source');
    // Gone between SCAN and DUMP (deleted or expired): skipped.
    if (payload === null || ttl === -2) continue;
    out.push({ key: keys[i], ttl: Number(ttl) > 0 ? Number(ttl) : 0, payload: payload as Buffer });
  }
  return out;
}

async function restoreBatch(dst: Redis, batch: Dumped[]): Promise<void> {
  if (batch.length === 0) return;
  const pipe = dst.pipeline();
  for (const d of batch) pipe.restore(d.key, d.ttl, d.payload, 'REPLACE');
  const res = (await pipe.exec()) ?? [];
  const failed = res.find(([e]) => e);
  if (failed) throw asMigrationError(failed[0], 'target');
}

// ---- incremental: the target follows the source ----

export interface LinkState {
  up: boolean;
  /** The first (full) synchronisation is under way: the link is alive though not yet up. */
  syncing: boolean;
  /** Replication offset the target has applied. */
  offset: number;
}

/** Makes the target a replica of the source (idempotent: re-attaching after a restart is the same call). */
export async function attach(dst: Redis, src: RedisTarget, beforeEffect: () => void): Promise<void> {
  beforeEffect();
  await dst.config('SET', 'masterauth', src.password ?? '');
  if (src.username) await dst.config('SET', 'masteruser', src.username);
  await dst.replicaof(src.host, src.port);
}

/** The target stops following and is writable again; what it holds stays. */
export async function detach(dst: Redis, ownPassword: string | null, beforeEffect: () => void): Promise<void> {
  beforeEffect();
  await dst.replicaof('NO', 'ONE');
  await dst.config('SET', 'masterauth', ownPassword ?? '');
}

export async function link(dst: Redis): Promise<LinkState> {
  const text = await dst.info('replication');
  const field = (n: string) => new RegExp(`^${n}:(\\S+)`, 'm').exec(text)?.[1];
  return { up: field('master_link_status') === 'up', syncing: field('master_sync_in_progress') === '1', offset: Number(field('slave_repl_offset') ?? 0) };
}

export async function masterOffset(src: Redis): Promise<number> {
  return Number(/^master_repl_offset:(\d+)/m.exec(await src.info('replication'))?.[1] ?? 0);
}
