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
 * Returns the final progress, with `done` set unless a stop was requested first.
 */
export async function fullCopy(src: Redis, dst: Redis, from: CopyProgress, h: CopyHooks): Promise<CopyProgress> {
  const dbs = await keyspace(src);
  let p: CopyProgress = from.total === 0 && from.copied === 0 && from.db === 0 && from.cursor === '0'
    ? { ...from, total: dbs.reduce((a, d) => a + d.keys, 0) }
    : { ...from };
  const started = Date.now();
  let bytes = 0;
  for (const { db } of dbs) {
    if (db < p.db) continue;
    let cursor = db === p.db ? p.cursor : '0';
    await src.select(db);
    await dst.select(db);
    // The SCAN of the next batch is in flight while the current one is dumped and restored.
    let next = src.scanBuffer(cursor, 'COUNT', SCAN_COUNT);
    for (;;) {
      if (h.signal.aborted) throw new Interrupted('interrupted');
      if (await h.stopRequested()) return p;
      const [nextCursor, keys] = await next;
      cursor = nextCursor.toString();
      if (cursor !== '0') next = src.scanBuffer(cursor, 'COUNT', SCAN_COUNT);
      if (keys.length) {
        const dumped = await dumpBatch(src, keys);
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
      await h.saveProgress(p);
      if (cursor === '0') break;
    }
  }
  return { ...p, done: true };
}

interface Dumped {
  key: Buffer;
  ttl: number;
  payload: Buffer;
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
