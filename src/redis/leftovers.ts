/**
 * redis-servers a service process left running when it died (kill -9 reaps no child): found by
 * the pid file in their directory, and stopped by the next start. Shared by the supervisor (an
 * instance's node, replaced by a new process) and offline imports (a temporary server, removed).
 */
import fs from 'node:fs';
import path from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isRedisProcess(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

/** Running, not a zombie: a process whose parent died is reaped by pid 1, which in a container may never do it. */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

/** The live redis-server whose pid `<dir>/redis.pid` names, or null (no file, gone, or another program by now). */
export function leftoverRedis(dir: string): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(dir, 'redis.pid'), 'utf8').trim());
  } catch {
    return null;
  }
  return Number.isInteger(pid) && pid > 1 && alive(pid) && isRedisProcess(pid) ? pid : null;
}

/** Stops `pid`: SIGTERM, then SIGKILL after 5 s; resolves once it is gone (or after 2 s more). */
export async function stopProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 40 && alive(pid); i++) await sleep(50);
}
