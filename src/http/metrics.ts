/**
 * Prometheus metrics: requests by route and status, task counts, how long each kind of task
 * takes, managed Redis processes up.
 */
import type { FastifyInstance } from 'fastify';
// Each class from its own module: prom-client's entry module loads everything the package offers
// (the Pushgateway with https and zlib, cluster aggregation, OpenTelemetry for exemplars), 60-90 ms
// of a one-second start, against ~9 ms for these four. The entry re-exports these same modules.
// The process metrics, which only the entry offers, join the registry once the service is up.
import Registry from 'prom-client/lib/registry.js';
import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import Histogram from 'prom-client/lib/histogram.js';
import { afterListening } from './after-listening.js';

export interface MetricSources {
  taskCounts(): Promise<Record<string, number>>;
  redisUp(): number;
  taskOutcomes: TaskOutcomeMetrics;
}

/** The part of an engine context these metrics read (structural: no engine import). */
interface Ctx { task: { id: string } }
type Steps = { steps: { run: (ctx: never) => Promise<void> }[] };

/**
 * How long each kind of task takes and how often it fails, for the tasks this node finished.
 * The start is taken from the operation's steps (see observe), the end from the engine's
 * onFinished (see finished), which fires only after the owner wrote the end: a task whose lease
 * was lost is counted once, by the node that finishes it. No store query on a scrape; with
 * several nodes, sum the series over the nodes. The duration is from the first step this
 * process ran to the end (a task resumed after a restart counts from its resumption). Recording
 * never throws into the task.
 */
export class TaskOutcomeMetrics {
  readonly duration = new Histogram({
    name: 'dcs_task_duration_seconds', help: 'Duration of finished tasks (first claim to end) by task name and status',
    labelNames: ['task_name', 'status'], registers: [],
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
  });
  readonly failures = new Counter({
    name: 'dcs_task_failures_total', help: 'Tasks that ended FAILED, by task name and error code',
    labelNames: ['task_name', 'error_code'], registers: [],
  });
  get metrics() {
    return [this.duration, this.failures];
  }

  /** When this process first ran a step of each task it is running (see released). */
  private readonly began = new Map<string, number>();

  /** The engine's onFinished: a task's end, as written by this node. */
  finished(task: { id: string; name: string }, status: 'SUCCESS' | 'FAILED', errorCode: string | null): void {
    const began = this.began.get(task.id);
    this.began.delete(task.id);
    try {
      if (began !== undefined) this.duration.observe({ task_name: task.name, status }, (Date.now() - began) / 1000);
      if (status === 'FAILED') this.failures.inc({ task_name: task.name, error_code: errorCode ?? 'unknown' });
    } catch { /* a metric must never fail a task */ }
  }

  /**
   * The engine's onReleased: this process no longer runs the task (ended, or lost to another
   * node, or stopping). Its start is forgotten, or a task lost to another node would be kept
   * here for ever; run here again later, it counts from then.
   */
  released(taskId: string): void {
    this.began.delete(taskId);
  }

  /**
   * The operation with its steps wrapped to note when this process first ran one. Only the steps:
   * an operation without its own onSuccess keeps none, so the engine can write its last step and
   * its success together.
   */
  observe<O extends Steps>(op: O): O {
    return {
      ...op,
      steps: op.steps.map((s) => {
        const run = s.run as (c: Ctx) => Promise<void>;
        return { ...s, run: (c: Ctx) => { if (!this.began.has(c.task.id)) this.began.set(c.task.id, Date.now()); return run(c); } };
      }),
    };
  }
}

export function registerMetrics(app: FastifyInstance, sources: MetricSources): void {
  const registry = new Registry();
  // Not on the way to the first answer: loading the entry module takes the event loop a while.
  afterListening(app, async () => (await import('prom-client')).collectDefaultMetrics({ register: registry }));
  const requests = new Counter({
    name: 'dcs_http_requests_total', help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'], registers: [registry],
  });
  const latency = new Histogram({
    name: 'dcs_http_request_duration_seconds', help: 'HTTP request latency by route and status',
    labelNames: ['route', 'method', 'status'], registers: [registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  new Gauge({
    name: 'dcs_tasks', help: 'Tasks by status', labelNames: ['status'], registers: [registry],
    async collect() {
      const counts = await sources.taskCounts();
      this.reset();
      for (const s of ['CREATED', 'WAITING', 'EXECUTING', 'SUCCESS', 'FAILED']) this.set({ status: s }, counts[s] ?? 0);
    },
  });
  for (const m of sources.taskOutcomes.metrics) registry.registerMetric(m);
  new Gauge({
    name: 'dcs_managed_redis_up', help: 'Managed redis-server processes answering', registers: [registry],
    collect() { this.set(sources.redisUp()); },
  });

  app.addHook('onResponse', (req, reply, done) => {
    const labels = { route: req.routeOptions.url ?? 'unknown', method: req.method, status: String(reply.statusCode) };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
    done();
  });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics in text format (no authentication)', tags: ['service'], security: [] } }, async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
