/**
 * GET /health, without authentication: is the process up (always 200 while it answers, so a
 * database outage does not get the process restarted by a liveness probe), and, in the body,
 * whether the store answers and how many managed redis-server processes are up (as
 * LocalStack's health endpoint reports its services). No addresses, no errors, no secrets.
 */
import type { FastifyInstance } from 'fastify';

export interface HealthSources {
  /** Any cheap read of the store; its failure or slowness means "not reachable". */
  probeStore(): Promise<unknown>;
  /** Managed redis-server processes: how many are supervised and how many answer. */
  managedRedis(): { total: number; up: number };
}

/** A store that has not answered in this long counts as unreachable (queries have their own bound). */
export const STORE_PROBE_MS = 1000;

async function storeReachable(probe: () => Promise<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), STORE_PROBE_MS); });
  try {
    return await Promise.race([probe().then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function registerHealth(app: FastifyInstance, sources: HealthSources): void {
  app.get('/health', { schema: { summary: 'Liveness: the store and the managed Redis processes (no authentication)', tags: ['service'], security: [] } }, async () => {
    const store = await storeReachable(sources.probeStore);
    const redis = sources.managedRedis();
    const ok = store && redis.up === redis.total;
    return {
      status: ok ? 'ok' : 'degraded',
      store: { reachable: store },
      managed_redis: { total: redis.total, up: redis.up },
    };
  });
}
