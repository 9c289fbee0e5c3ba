/**
 * One service process per data directory (SQLite is a single-node store): a lock file holding
 * the owner's pid. A lock left by a process that is gone (kill -9) is taken over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireDataDirLock(dataDir: string): () => void {
  const file = path.join(dataDir, 'service.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`cannot create ${file}: ${(e as NodeJS.ErrnoException).code}`);
      const pid = Number(fs.readFileSync(file, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new ConfigError(`data directory ${dataDir} is in use by another dcs-tasks process (pid ${pid})`);
      }
      fs.unlinkSync(file); // stale: its owner is gone
    }
  }
  throw new ConfigError(`cannot lock data directory ${dataDir}`);
}
