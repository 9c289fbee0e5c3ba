/** Free-port helpers for managed instances. */
import net from 'node:net';

export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A free port of this host that is not in `taken` (the ports instances record). */
export async function freePortBesides(taken: Set<number>): Promise<number> {
  for (;;) {
    const p = await findFreePort();
    if (!taken.has(p)) return p;
  }
}
