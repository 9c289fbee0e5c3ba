/**
 * A Redis server's own persistence, for backups: a BGSAVE or BGREWRITEAOF that is known to have
 * finished after it was asked for (INFO persistence counters `rdb_saves` / `aof_rewrites`, Redis
 * ≥ 7), and the files it wrote, assembled into one self-contained file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { infoSection, withRedis, type RedisTarget } from './commands.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SaveFailed extends Error {
  override readonly name = 'SaveFailed';
}

/**
 * Asks the server for a fresh RDB snapshot or AOF rewrite and waits until it is on disk.
 * `onProgress` hears the share of keys the save has written (INFO `current_save_keys_processed`
 * / `current_save_keys_total`, Redis ≥ 7) at each poll where the server reports one.
 */
export async function backgroundSave(
  t: RedisTarget, kind: 'rdb' | 'aof', signal: AbortSignal, onProgress: (fraction: number) => Promise<void> = async () => {},
): Promise<void> {
  const counter = kind === 'rdb' ? 'rdb_saves' : 'aof_rewrites';
  const busy = (i: Record<string, string>) => i.rdb_bgsave_in_progress === '1' || i.aof_rewrite_in_progress === '1' || i.aof_rewrite_scheduled === '1';
  let before: number;
  for (;;) {
    if (signal.aborted) throw new SaveFailed('interrupted');
    const info = await infoSection(t, 'persistence');
    if (info[counter] === undefined) throw new SaveFailed(`the server reports no ${counter} (Redis 7 or newer is needed)`);
    if (busy(info)) {
      await sleep(100); // a save already running: ours starts after it
      continue;
    }
    before = Number(info[counter]);
    try {
      await withRedis(t, (r) => r.call(kind === 'rdb' ? 'BGSAVE' : 'BGREWRITEAOF'));
      break;
    } catch (e) {
      if (/in progress|already/i.test((e as Error).message)) continue;
      throw e;
    }
  }
  for (;;) {
    if (signal.aborted) throw new SaveFailed('interrupted');
    const info = await infoSection(t, 'persistence');
    if (!busy(info)) {
      if (Number(info[counter]) > before) return;
      const status = kind === 'rdb' ? info.rdb_last_bgsave_status : info.aof_last_bgrewrite_status;
      if (status === 'err') throw new SaveFailed(`the server reports that its ${kind === 'rdb' ? 'BGSAVE' : 'BGREWRITEAOF'} failed`);
    } else {
      const total = Number(info.current_save_keys_total);
      if (total > 0) await onProgress(Math.min(1, Number(info.current_save_keys_processed) / total));
    }
    await sleep(100);
  }
}

/** The files of a Redis 7 AOF directory in load order: the base, then the incr files by sequence. */
export function aofFilesInOrder(aofDir: string, appendFilename: string): string[] {
  const manifest = fs.readFileSync(path.join(aofDir, `${appendFilename}.manifest`), 'utf8');
  const entries = manifest.split('\n').filter(Boolean).map((line) => {
    const f = line.trim().split(/\s+/);
    const get = (k: string) => f[f.indexOf(k) + 1];
    return { file: get('file'), seq: Number(get('seq')), type: get('type') };
  });
  const base = entries.filter((e) => e.type === 'b');
  const incr = entries.filter((e) => e.type === 'i').sort((a, b) => a.seq - b.seq);
  return [...base, ...incr].map((e) => path.join(aofDir, e.file));
}

/** Whether a file starts as an RDB ("REDIS") or a parsable AOF (an RDB preamble, or a RESP array). */
export function looksLike(file: string, kind: 'rdb' | 'aof'): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(5);
    const n = fs.readSync(fd, head, 0, 5, 0);
    const text = head.subarray(0, n).toString('latin1');
    return kind === 'rdb' ? text === 'REDIS' : text === 'REDIS' || text.startsWith('*');
  } finally {
    fs.closeSync(fd);
  }
}

/** Concatenates files into `target`, then fsyncs it. */
export async function concatInto(target: string, sources: string[]): Promise<void> {
  const fd = fs.openSync(target, 'w', 0o600);
  try {
    const buf = Buffer.alloc(1 << 20);
    for (const src of sources) {
      const inFd = fs.openSync(src, 'r');
      try {
        for (let n; (n = fs.readSync(inFd, buf, 0, buf.length, null)) > 0;) fs.writeSync(fd, buf, 0, n);
      } finally {
        fs.closeSync(inFd);
      }
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsyncs a directory, so a rename in it is durable. */
export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
