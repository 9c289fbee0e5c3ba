/**
 * Prometheus metrics: requests by route and status, task counts, how long each kind of task
 * takes, managed Redis processes up.
 */
import client from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { TASK_NAMES } from '../instances/operations.js';

export interface MetricSources {
  taskCounts(): Promise<Record<string, number>>;
  redisUp(): number;
  /** Durations (ms) of the latest successful tasks of a name, newest first (the store's). */
  recentDurations(name: string, limit: number): Promise<number[]>;
}

/** How many recent successful runs of a task name the duration gauges summarise. */
export const DURATION_WINDOW = 50;

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
    name: 'dcs_task_duration_seconds',
    help: `Duration of the last ${DURATION_WINDOW} successful tasks of each name (stat: mean, max, last), from the store, so every node reports the same`,
    labelNames: ['task_name', 'stat'], registers: [registry],
    async collect() {
      this.reset();
      for (const name of Object.values(TASK_NAMES)) {
        const ms = await sources.recentDurations(name, DURATION_WINDOW);
        if (ms.length === 0) continue;
        this.set({ task_name: name, stat: 'mean' }, ms.reduce((a, b) => a + b, 0) / ms.length / 1000);
        this.set({ task_name: name, stat: 'max' }, Math.max(...ms) / 1000);
        this.set({ task_name: name, stat: 'last' }, ms[0]! / 1000);
      }
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
