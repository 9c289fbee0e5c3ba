/**
 * A SQLite thread: owns one connection of a SqliteStore and answers the calls the event loop
 * posts (see thread.ts). The writer thread runs every write — statements, commit and fsync — so
 * the event loop keeps parsing requests while a batch is written and synced, and group-commit
 * batches grow with load; an answer is posted only after the write that produced it is committed
 * (SqliteDb.write), so "answered" still means "on disk". The reader thread runs the reads, one
 * at a time, each in a read transaction: a list's count and page see the same snapshot while the
 * writer commits beside it, and no read waits behind a commit or a write behind a deep list.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../sqlite.js';
import { toWire, type Call, type Reply } from './wire.js';

export type ThreadRole = 'writer' | 'reader';

const port = parentPort!;
const { file, role } = workerData as { file: string; role: ThreadRole };
const store = new SqliteStore(file);
/** Answers posted together at the end of an event-loop turn: one message for many calls. */
let replies: Reply[] = [];

function reply(r: Reply): void {
  if (replies.push(r) === 1) setImmediate(flushReplies);
}

function flushReplies(): void {
  const out = replies;
  replies = [];
  port.postMessage(out);
}

function target(path: string): { self: Record<string, unknown>; fn: unknown } {
  const dot = path.indexOf('.');
  const self = (dot < 0 ? store : (store as unknown as Record<string, unknown>)[path.slice(0, dot)]) as Record<string, unknown>;
  return { self, fn: self?.[dot < 0 ? path : path.slice(dot + 1)] };
}

async function answer(c: Call): Promise<void> {
  try {
    const { self, fn } = target(c.method);
    if (typeof fn !== 'function') throw new Error(`no store method ${c.method}`);
    const call = () => (fn as (...a: unknown[]) => Promise<unknown>).apply(self, c.args);
    const value = role === 'reader' && c.method !== 'close' ? await store.inSnapshot(call) : await call();
    reply({ id: c.id, ok: true, value });
  } catch (e) {
    reply({ id: c.id, ok: false, error: toWire(e) });
  }
}

/**
 * The writer starts every call of a message at once (their writes share the next group commit);
 * the reader runs them one after another (one read transaction at a time).
 */
let readerQueue: Promise<void> = Promise.resolve();

port.on('message', (calls: Call[]) => {
  if (role === 'writer') for (const c of calls) void answer(c);
  else for (const c of calls) readerQueue = readerQueue.then(() => answer(c));
});
