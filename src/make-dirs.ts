/**
 * `mkdir -p` that always ends. Node's own `mkdirSync(…, { recursive: true })` never returns for a
 * path below a directory that refuses new entries with ENOENT (procfs: `/proc/nope`), and a data
 * directory given there must be a clear error, not a service that hangs before it says anything.
 */
import fs from 'node:fs';
import path from 'node:path';

export function makeDirs(dir: string, mode = 0o700): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) fs.mkdirSync(d, { mode });
}
