/**
 * Prometheus metrics: requests by route and status, task counts, how long each kind of task
 * takes, managed Redis processes up.
 */
import client from 'prom-client';
import type { FastifyInstance } from 'fastify';

export interface MetricSources {
  taskCounts(): Promise<Record<string, number>>;
  redisUp(): number;
  taskOutcomes: TaskOutcomeMetrics;
}

/** The part of an engine hook's context these metrics read (structural: no engine import). */
interface HookCtx { task: { startedAt: number | null; createdAt: number } }
type Hooks = {
  name: string;
  onSuccess?: (ctx: never) => Promise<void>;
  onFailure?: (ctx: never, failure: never) => Promise<string | void>;
};

/**
 * How long each kind of task takes and how often it fails, for the tasks this node finished.
 * Fed by the operations' own onSuccess/onFailure hooks (see observe), so no engine change and
 * no store query on a scrape; with several nodes, sum the series over the nodes.
 */
export class TaskOutcomeMetrics {
  readonly duration = new client.Histogram({
    name: 'dcs_task_duration_seconds', help: 'Duration of finished tasks (first claim to end) by task name and status',
    labelNames: ['task_name', 'status'], registers: [],
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
  });
  readonly failures = new client.Counter({
    name: 'dcs_task_failures_total', help: 'Tasks that ended FAILED, by task name and error code',
    labelNames: ['task_name', 'error_code'], registers: [],
  });
  get metrics() {
    return [this.duration, this.failures];
  }

  /** The operation, its hooks wrapped to record the outcome first. */
  observe<O extends Hooks>(op: O): O {
    const success = op.onSuccess as ((c: HookCtx) => Promise<void>) | undefined;
    const failure = op.onFailure as ((c: HookCtx, f: { code?: string }) => Promise<string | void>) | undefined;
    const seconds = (c: HookCtx) => (Date.now() - (c.task.startedAt ?? c.task.createdAt)) / 1000;
    return {
      ...op,
      onSuccess: async (c: HookCtx) => {
        this.duration.observe({ task_name: op.name, status: 'SUCCESS' }, seconds(c));
        await success?.(c);
      },
      onFailure: async (c: HookCtx, f: { code?: string }) => {
        this.duration.observe({ task_name: op.name, status: 'FAILED' }, seconds(c));
        this.failures.inc({ task_name: op.name, error_code: f.code ?? 'unknown' });
        return failure?.(c, f);
      },
    };
  }
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
  for (const m of sources.taskOutcomes.metrics) registry.registerMetric(m);
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
