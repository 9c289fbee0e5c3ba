/**
 * A TCP proxy in front of a real server (PostgreSQL in the outage tests). `block()` cuts every
 * open connection and turns the address into a black hole: new connections are accepted and
 * then never answered, the worst case for a client (no quick "connection refused").
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let blocked = false;
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    if (blocked) return; // held open, never forwarded
    const upstream = net.connect(targetPort, targetHost);
    open.add(upstream);
    upstream.on('close', () => { open.delete(upstream); client.destroy(); });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    block: () => {
      blocked = true;
      for (const s of open) s.destroy();
    },
    unblock: () => {
      blocked = false;
      // Connections accepted while blocked were never forwarded: close them so clients retry.
      for (const s of open) s.destroy();
    },
    close: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
