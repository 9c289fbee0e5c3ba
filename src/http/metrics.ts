/** Prometheus metrics: requests by route and status, task counts, managed Redis processes up. */
import client from 'prom-client';
import type { FastifyInstance } from 'fastify';

export interface MetricSources {
  taskCounts(): Promise<Record<string, number>>;
  redisUp(): number;
}

export function registerMetrics(app: FastifyInstance, sources: MetricSources): void {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const requests = new client.Counter({
    name: 'dcs_http_requests_total', help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'], registers: [registry],
  });
  const latency = new client.Histogram({
    name: 'dcs_http_request_duration_seconds', help: 'HTTP request latency by route and status',
    labelNames: ['route', 'method', 'status'], registers: [registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  new client.Gauge({
    name: 'dcs_tasks', help: 'Tasks by status', labelNames: ['status'], registers: [registry],
    async collect() {
      const counts = await sources.taskCounts();
      this.reset();
      for (const s of ['CREATED', 'WAITING', 'EXECUTING', 'SUCCESS', 'FAILED']) this.set({ status: s }, counts[s] ?? 0);
    },
  });
  new client.Gauge({
    name: 'dcs_managed_redis_up', help: 'Managed redis-server processes answering', registers: [registry],
    collect() { this.set(sources.redisUp()); },
  });

  app.addHook('onResponse', async (req, reply) => {
    const labels = { route: req.routeOptions.url ?? 'unknown', method: req.method, status: String(reply.statusCode) };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
