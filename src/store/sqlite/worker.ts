/**
 * The SQLite thread: owns the database connection(s) of a SqliteStore and answers the calls the
 * event loop's ThreadedSqliteStore posts (see thread.ts). Every statement, every commit and its
 * fsync run here, so the event loop keeps parsing requests while a batch is written and synced,
 * and group-commit batches grow with load. A call's answer is posted only after the write that
 * produced it is committed (SqliteDb.write), so "answered" still means "on disk".
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../sqlite.js';
import { toWire, type Call, type Reply } from './wire.js';

const port = parentPort!;
const store = new SqliteStore((workerData as { file: string }).file);
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
    const value = await (fn as (...a: unknown[]) => unknown).apply(self, c.args);
    reply({ id: c.id, ok: true, value });
  } catch (e) {
    reply({ id: c.id, ok: false, error: toWire(e) });
  }
}

port.on('message', (calls: Call[]) => {
  for (const c of calls) void answer(c);
});
