/**
 * One service process per data directory, whatever the store: the directory holds the instances'
 * files and, on PostgreSQL, names the node, so two processes on one would run the same
 * redis-servers against each other.
 *
 * The lock is SQLite's own: a small database `service.lock.db` opened in exclusive locking mode
 * and written once, so the connection holds an fcntl write lock on it for the life of the process.
 * The kernel drops that lock the moment the holder exits — also after `kill -9`, while the dead
 * process is still an unreaped zombie — so a supervisor may restart the service at once. (A pid
 * file checked with `kill(pid, 0)` cannot tell a zombie from a live process.) fcntl locks are not
 * inherited by child processes, so a managed redis-server that outlives the service holds nothing.
 *
 * `service.pid` only names the holder in the refusal message; it decides nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from './config.js';

const LOCK_FILE = 'service.lock.db';
const PID_FILE = 'service.pid';

function holderPid(dataDir: string): string {
  try {
    const pid = fs.readFileSync(path.join(dataDir, PID_FILE), 'utf8').trim();
    return /^\d+$/.test(pid) ? ` (pid ${pid})` : '';
  } catch {
    return '';
  }
}

export function acquireDataDirLock(dataDir: string): () => void {
  let db: Database.Database | undefined;
  try {
    // timeout 0: a held lock is an answer, not something to wait for.
    db = new Database(path.join(dataDir, LOCK_FILE), { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = MEMORY'); // no journal file beside the lock
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)');
    // The first write takes the exclusive lock; EXCLUSIVE mode keeps it until close.
    db.transaction(() => {
      db!.exec('DELETE FROM holder');
      db!.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
    })();
  } catch (e) {
    db?.close();
    const code = (e as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      throw new ConfigError(`data directory ${dataDir} is in use by another dcs-tasks process${holderPid(dataDir)}`);
    }
    throw new ConfigError(`cannot lock data directory ${dataDir}: ${(e as Error).message}`);
  }
  fs.writeFileSync(path.join(dataDir, PID_FILE), String(process.pid), { mode: 0o600 });
  const held = db;
  return () => held.close();
}
