/** A standalone redis-server for tests that attach an existing Redis (`redis_url`). */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { tempDir } from './service.js';

export interface TestRedis {
  port: number;
  url: string;
  proc: ChildProcess;
  client(password?: string | null): Redis;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis(password: string | null = null, extraArgs: string[] = []): Promise<TestRedis> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tempDir('dcs-redis-')];
  // The password goes through stdin-free config: tests are allowed to show it in ps.
  if (password) args.push('--requirepass', password);
  args.push(...extraArgs);
  const proc = spawn('redis-server', args, { stdio: 'ignore' });
  const client = (pw: string | null = password) =>
    new Redis({ host: '127.0.0.1', port, password: pw ?? undefined, lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
  for (let i = 0; i < 100; i++) {
    const c = client();
    c.on('error', () => {});
    try {
      if ((await c.ping()) === 'PONG') { c.disconnect(); break; }
    } catch { /* not yet */ }
    c.disconnect();
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc,
    client,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** One short connection to a Redis on this host (with an ACL user when `username` is given): runs `fn`, disconnects. */
export async function onRedis<T>(port: number, password: string | null, fn: (r: Redis) => Promise<T>, username?: string): Promise<T> {
  const r = new Redis({ host: '127.0.0.1', port, username, password: password ?? undefined, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  r.on('error', () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}
