/**
 * The service's own port, held from the first moment of a start until the HTTP server takes it.
 * A port that is taken is a bad configuration, and it must be found before the start changes
 * anything — a first credential created and printed, managed redis-servers started again,
 * interrupted tasks resumed (and, after enough failed starts, failed for good) — not after.
 * Held, it cannot be taken meanwhile either, by a managed redis-server coming back or anyone else.
 */
import net from 'node:net';
import { ConfigError } from './config.js';

export function listenError(host: string, port: number, e: unknown): ConfigError {
  const code = (e as NodeJS.ErrnoException).code;
  return new ConfigError(code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use` : `cannot listen on ${host}:${port}: ${code ?? (e as Error).message}`);
}

/**
 * Listens on host:port and returns how to let it go; port 0 holds nothing. What connects
 * meanwhile goes to `meanwhile` (by default it is closed at once); whatever of it is still open
 * when the port is let go is closed then, so the service's own listener takes over at once.
 */
export async function holdListenPort(host: string, port: number, meanwhile: (socket: net.Socket) => void = (s) => s.destroy()): Promise<() => Promise<void>> {
  if (port === 0) return async () => {};
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    // First of all: a client that resets must not become an uncaught error.
    socket.on('error', () => {});
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    meanwhile(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e) => {
    throw listenError(host, port, e);
  });
  let released: Promise<void> | null = null;
  return () => (released ??= new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const socket of open) socket.destroy();
  }));
}
