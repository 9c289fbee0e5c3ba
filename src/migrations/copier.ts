/**
 * What a migration does to Redis (automation.md §4.7). The full copy walks every database of the
 * source with SCAN and moves each key with PTTL + DUMP / RESTORE … REPLACE, a SCAN page at a time
 * as one packed batch (batch.ts);
 * the incremental phase makes the target a replica of the source (REPLICAOF) until stopped.
 * Every write to the target is preceded by `beforeEffect` (the run's lease check); progress is
 * saved every SAVE_EVERY_MS (and at each database's end) so a restarted run resumes from the
 * database and cursor it reached; what it copies again after that point, RESTORE … REPLACE rewrites.
 */
import type { Redis } from 'ioredis';
import { connectRedis, keyspace, type RedisTarget } from '../redis/commands.js';
import { waitOrAbort } from '../engine/wait.js';
import type { CopyProgress } from './records.js';

import { Interrupted, RedisRefused, asMigrationError } from './errors.js';
import { BatchSource, BatchTarget, split, type Batch } from './batch.js';

export { RedisRefused, Interrupted, asMigrationError } from './errors.js';

export interface CopyHooks {
  signal: AbortSignal;
  /** Throws unless the run still owns its lease; called right before every write to the target. */
  beforeEffect(): void;
  /** Durable progress: at most every SAVE_EVERY_MS, at each database's end, and before a stop returns. */
  saveProgress(p: CopyProgress): Promise<void>;
  /** Whether a stop was requested (the caller decides how often it really asks the store). */
  stopRequested(): Promise<boolean>;
  /** Payload bytes per second, or null for no limit. */
  bytesPerSecond: number | null;
  /** What the source calls SCAN, when it is renamed (RedisTarget.commandNames). */
  sourceScanCommand?: string;
}

const SCAN_COUNT = 1000;
/** Progress saves not yet committed, at most. */
const SAVES_IN_FLIGHT = 8;
/**
 * How often progress is saved. A save per batch was a store commit per 1000 keys; a resumed copy
 * redoes at most this much work, which RESTORE … REPLACE makes harmless.
 */
const SAVE_EVERY_MS = 250;

/**
 * Connects with a generous command timeout (a DUMP of a big key takes a while) and checks AUTH;
 * `signal` gives up the attempt (a stop must not wait out a connect timeout). A failed connect()
 * only says "Connection is closed.": the cause (WRONGPASS, ECONNREFUSED…) comes as an 'error'
 * event, and it is what decides between failing at once and retrying, and what the log shows.
 */
export async function open(t: RedisTarget, what: string, signal?: AbortSignal): Promise<Redis> {
  const r = await connectRedis(t, { timeoutMs: 15_000 });
  // Every error the connection reported: something that is not a Redis can both answer garbage
  // and reset the connection, in either order; the answer is what tells the user what is wrong.
  const seen: unknown[] = [];
  const onError = (e: unknown) => { seen.push(e); };
  const giveUp = () => r.disconnect();
  r.on('error', onError);
  signal?.addEventListener('abort', giveUp, { once: true });
  try {
    if (signal?.aborted) throw new Interrupted('stopped before connecting');
    await r.connect();
    await r.ping();
  } catch (e) {
    r.disconnect();
    if (e instanceof Interrupted) throw e;
    const where = `${what} ${t.host}:${t.port}`;
    const errors = [...seen, e].map((x) => asMigrationError(x, where));
    throw errors.find((x) => x instanceof RedisRefused) ?? errors[0];
  } finally {
    r.off('error', onError);
    signal?.removeEventListener('abort', giveUp);
  }
  return r;
}


/**
 * Copies every key from `src` to `dst`, starting at `from` (a saved progress, or a fresh one).
 * Returns the final progress, with `done` set unless a stop was requested first. The source's
 * side (SCAN, PTTL, DUMP of the next batches) runs ahead of the target's (RESTORE of the current
 * one), up to AHEAD batches, so both servers work at once; progress is saved in order, only
 * after the batches it covers are restored.
 */
export async function fullCopy(src: Redis, dst: Redis, from: CopyProgress, h: CopyHooks): Promise<CopyProgress> {
  const dbs = await keyspace(src);
  let p: CopyProgress = from.total === 0 && from.copied === 0 && from.db === 0 && from.cursor === '0'
    ? { ...from, total: dbs.reduce((a, d) => a + d.keys, 0) }
    : { ...from };
  const started = Date.now();
  let bytes = 0;
  const source = new BatchSource(src, SCAN_COUNT, h.sourceScanCommand);
  const target = new BatchTarget(dst);
  const saving: Promise<void>[] = [];
  let saved = p;
  let savedAt = Date.now();
  // Saves overlap the next batches' work and share commits (the store's group commit); they are
  // issued in order, so whatever was committed last is a point every earlier key reached.
  const save = async () => {
    saved = p;
    savedAt = Date.now();
    saving.push(h.saveProgress(p));
    saving.at(-1)!.catch(() => {}); // reported when awaited, in order
    if (saving.length > SAVES_IN_FLIGHT) await saving.shift();
  };
  /** A stop: what was copied is saved, and that is where the copy ends. */
  const halt = async () => {
    if (saved !== p) await save();
    await Promise.all(saving);
    return p;
  };
  for (const { db } of dbs) {
    if (db < p.db) continue;
    await src.select(db);
    await dst.select(db);
    const batches = readAhead(source, db === p.db ? p.cursor : '0');
    for (;;) {
      if (h.signal.aborted) throw new Interrupted('interrupted');
      if (await h.stopRequested()) return halt();
      const batch = await batches.next();
      const { cursor } = batch;
      // Throttled, a page goes in pieces of a tenth of a second's bytes, each waited for: a
      // page's worth of waiting at once (seconds at a low limit) kept a stop waiting as long.
      // A stop between pieces keeps the page's cursor: a resume redoes the page, REPLACE-ing.
      for (const piece of h.bytesPerSecond ? split(batch, h.bytesPerSecond / 10) : [batch]) {
        if (h.bytesPerSecond) {
          bytes += piece.packed.length;
          if (await throttled(started + (bytes / h.bytesPerSecond) * 1000, h)) return halt();
        }
        h.beforeEffect();
        await target.write(piece);
        p = { ...p, copied: p.copied + piece.keys };
      }
      p = cursor === '0' ? { ...p, db: db + 1, cursor: '0' } : { ...p, db, cursor };
      if (cursor === '0' || Date.now() - savedAt >= SAVE_EVERY_MS) await save();
      if (cursor === '0') break;
    }
  }
  await Promise.all(saving);
  return { ...p, done: true };
}

/** How often a throttled copy asks for a stop while it waits. */
const STOP_CHECK_MS = 100;

/** Waits until `due` (the bandwidth limit), asking for a stop meanwhile: true when one came. */
async function throttled(due: number, h: CopyHooks): Promise<boolean> {
  for (;;) {
    if (h.signal.aborted) throw new Interrupted('interrupted');
    if (await h.stopRequested()) return true;
    const left = due - Date.now();
    if (left <= 0) return false;
    await waitOrAbort(Math.min(left, STOP_CHECK_MS), h.signal);
  }
}

/** How many batches the source side may read ahead of the target side. */
const AHEAD = 2;

/** Batches of one database from `cursor` on, read ahead; `next()` gives them in order until the one with cursor '0'. */
function readAhead(source: BatchSource, cursor: string): { next(): Promise<Batch> } {
  let tail: Promise<Batch | null> = source.read(cursor);
  // Reported by next(), in order. A copy stopped before it asks for a page never awaits it, and
  // the connection's end rejects it then: unhandled, that rejection ended the service.
  tail.catch(() => {});
  const queue: Promise<Batch | null>[] = [tail];
  const more = () => {
    while (queue.length < AHEAD) {
      tail = tail.then((b) => (b && b.cursor !== '0' ? source.read(b.cursor) : null));
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

// ---- incremental: the target follows the source ----

export interface LinkState {
  up: boolean;
  /** The first (full) synchronisation is under way: the link is alive though not yet up. */
  syncing: boolean;
  /** Replication offset the target has applied. */
  offset: number;
  /** Whom the target follows (`null`: nobody, it is a master — restarted, or detached by someone). */
  master: { host: string; port: number } | null;
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
  const host = field('master_host');
  return {
    up: field('master_link_status') === 'up', syncing: field('master_sync_in_progress') === '1', offset: Number(field('slave_repl_offset') ?? 0),
    master: field('role') === 'slave' && host !== undefined ? { host, port: Number(field('master_port')) } : null,
  };
}

export async function masterOffset(src: Redis): Promise<number> {
  return Number(/^master_repl_offset:(\d+)/m.exec(await src.info('replication'))?.[1] ?? 0);
}
