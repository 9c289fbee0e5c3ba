/**
 * TaskEngine: claims runnable tasks from the store under a lease, runs their steps in order,
 * renews the lease while it works, and records every step's status and times. A task whose
 * owner died (lease expired) is claimed again and resumed after its last finished step: steps
 * are written to be idempotent, so re-running an interrupted one is safe.
 */
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { StoreUnavailable, type NodeRegistry, type Store } from '../store/types.js';
import type { TaskRecord } from '../tasks/records.js';
import { StepFailure, type Operation, type StepContext } from './operation.js';

export interface EngineOptions {
  store: Store;
  logger: Logger;
  /** This service node (stable across restarts); it runs only tasks it can run (see claimTasks). */
  nodeId?: string;
  leaseMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
  stepTimeoutMs?: number;
  concurrency?: number;
  /** A task claimed this many times without finishing is failed instead of retried again. */
  maxAttempts?: number;
  /**
   * Pause before each step (after it is recorded EXECUTING). Zero in production; fault-injection
   * tests set it (DCS_STEP_DELAY_MS) to kill the service while a known step is in progress.
   */
  stepDelayMs?: number;
  /**
   * Multi-node: a node that has not beaten for this long is down; the others fail the tasks of
   * the managed instances it supervised (default: two leases).
   */
  nodeDeadAfterMs?: number;
  /** Called after a task ends (SUCCESS or FAILED) on this node. */
  onFinished?: (taskId: string, status: 'SUCCESS' | 'FAILED') => void;
}

export class TaskEngine {
  /** Lease owner: the node plus this process's incarnation, so a restarted node never mistakes an old lease for its own. */
  readonly leaseOwner: string;
  /** The node part of leaseOwner (`${nodeName}/…`). */
  readonly nodeName: string;
  private readonly ops = new Map<string, Operation>();
  private readonly running = new Map<string, RunningTask>();
  private timer: NodeJS.Timeout | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private renewing = false;
  private nodeTimer: NodeJS.Timeout | null = null;
  /** Since when this node's heartbeats have been succeeding without a gap (null: not now). */
  private beatingSince: number | null = null;
  private claiming = false;
  private again = false;
  private stopped = true;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly stepTimeoutMs: number;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  readonly nodeDeadAfterMs: number;

  constructor(private readonly o: EngineOptions) {
    this.nodeName = o.nodeId ?? 'node';
    this.leaseOwner = `${this.nodeName}/${randomBytes(6).toString('hex')}`;
    this.leaseMs = o.leaseMs ?? 15_000;
    this.heartbeatMs = o.heartbeatMs ?? Math.floor(this.leaseMs / 3);
    this.pollMs = o.pollMs ?? 1000;
    this.stepTimeoutMs = o.stepTimeoutMs ?? 60_000;
    this.concurrency = o.concurrency ?? 16;
    this.maxAttempts = o.maxAttempts ?? 5;
    this.nodeDeadAfterMs = o.nodeDeadAfterMs ?? 2 * this.leaseMs;
  }

  register(op: Operation): void {
    this.ops.set(op.name, op);
  }

  operation(name: string): Operation | undefined {
    return this.ops.get(name);
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.pollMs);
    this.timer.unref();
    this.kick();
    this.leaseTimer = setInterval(() => void this.renewLeases(), this.heartbeatMs);
    this.leaseTimer.unref();
    const { nodeId } = this.o;
    const nodes = this.o.store.nodes;
    if (nodeId && nodes) {
      void this.beat(nodes, nodeId);
      this.nodeTimer = setInterval(() => void this.beat(nodes, nodeId), this.heartbeatMs);
      this.nodeTimer.unref();
    }
  }

  /**
   * Until when this node may act on a running task: the expiry of the lease as last granted
   * (claim or renewal time plus the lease), by this node's clock; 0 when it holds no lease on it.
   * Checked before every effect, so a node paused past its lease does not act on waking.
   */
  leaseValidUntil(taskId: string): number {
    return this.running.get(taskId)?.leaseValidUntil ?? 0;
  }

  /**
   * One renewal for every running task (as BullMQ's Worker): a task whose lease is not renewed
   * is lost, and its run is aborted. Without an answer the leases run out on their own: a task
   * past its local expiry is aborted too.
   */
  private async renewLeases(): Promise<void> {
    if (this.renewing || this.running.size === 0) return;
    this.renewing = true;
    const ids = [...this.running.keys()];
    const sentAt = Date.now();
    try {
      const renewed = new Set(await this.o.store.renewLeases(this.leaseOwner, ids, this.leaseMs, sentAt));
      for (const id of ids) {
        const r = this.running.get(id);
        if (!r) continue;
        if (renewed.has(id)) r.leaseValidUntil = Math.max(r.leaseValidUntil, sentAt + this.leaseMs);
        else this.loseLease(id, r, 'lease lost (taken over or expired)');
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'lease renewal failed');
      const now = Date.now();
      for (const [id, r] of this.running) if (r.leaseValidUntil <= now) this.loseLease(id, r, 'lease expired while the store was unreachable');
    } finally {
      this.renewing = false;
    }
  }

  private loseLease(id: string, r: RunningTask, why: string): void {
    r.leaseValidUntil = 0;
    if (r.abort.signal.aborted) return;
    this.o.logger.warn({ task_id: id }, `${why}: stopping its run`);
    r.abort.abort();
  }

  /** Multi-node: says this node is alive, and fails the tasks a dead node left behind. */
  private async beat(nodes: NodeRegistry, nodeId: string): Promise<void> {
    const { logger } = this.o;
    try {
      const now = Date.now();
      await nodes.heartbeatNode(nodeId, now);
      this.beatingSince ??= now;
      // Only a node that has itself been beating for a whole dead-node interval may judge the
      // others: after a database outage every node's heartbeat is old, and the first one back
      // must not fail the tasks of nodes that are merely reconnecting.
      if (now - this.beatingSince < this.nodeDeadAfterMs) return;
      const failed = await nodes.failOrphanedTasks(now - this.nodeDeadAfterMs, now);
      if (failed.length) logger.warn({ task_ids: failed }, 'failed tasks left behind by a service node that stopped');
    } catch (err) {
      this.beatingSince = null;
      logger.warn({ err }, 'node heartbeat failed');
    }
  }

  /**
   * Which service nodes are alive right now, read once (for a whole list of instances). Every
   * node is alive on single-node stores, and this node always is.
   */
  async nodeLiveness(): Promise<(node: string) => boolean> {
    const nodes = this.o.store.nodes;
    if (!nodes) return () => true;
    const beats = await nodes.nodeHeartbeats();
    const since = Date.now() - this.nodeDeadAfterMs;
    return (node) => node === this.o.nodeId || (beats.get(node) ?? -Infinity) >= since;
  }

  /** Looks for work now (called after a task is created, and by the poll timer). */
  kick(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = true;
    void this.claimLoop().finally(() => {
      this.claiming = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopped && this.running.size < this.concurrency) {
      // One claim per round, for as many tasks as there is room for (one statement).
      const limit = Math.min(this.concurrency - this.running.size, CLAIM_BATCH);
      const sentAt = Date.now();
      let claimed: TaskRecord[];
      try {
        claimed = await this.o.store.claimTasks(this.leaseOwner, limit, this.leaseMs, sentAt, this.o.nodeId);
      } catch (e) {
        this.o.logger.error({ err: e }, 'claiming tasks failed');
        return;
      }
      for (const task of claimed) {
        const entry: RunningTask = { abort: new AbortController(), done: Promise.resolve(), leaseValidUntil: sentAt + this.leaseMs };
        this.running.set(task.id, entry);
        entry.done = this.runTask(task, entry.abort.signal).finally(() => this.running.delete(task.id));
      }
      if (claimed.length < limit) return; // nothing more to claim right now
    }
  }

  /** Stops claiming and interrupts running tasks at their next step boundary; they stay resumable. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.nodeTimer) clearInterval(this.nodeTimer);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** Resolves when no task runs on this node (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  private async runTask(task: TaskRecord, signal: AbortSignal): Promise<void> {
    const { store, logger } = this.o;
    const log = logger.child({ task_id: task.id, task: task.name, instance_id: task.instanceId });
    const op = this.ops.get(task.name);
    try {
      if (!op) throw new StepFailure('DCS.5000', `No operation named ${task.name} is known to this service.`);
      if (task.attempts > this.maxAttempts) {
        throw new StepFailure('DCS.5000', `The task was interrupted ${task.attempts - 1} times and was not retried again.`);
      }
      if (task.attempts > 1) log.info({ attempts: task.attempts }, 'resuming task');
      let state = { ...task.state };
      let details = { ...task.details };
      for (const step of op.steps) {
        // Steps are matched by name, so a changed step list never resumes at the wrong step.
        if (task.steps.some((s) => s.name === step.name && s.status === 'FINISH')) continue;
        if (signal.aborted) return; // lease lost or shutting down: leave it resumable
        const begin = Date.now();
        if (!(await store.updateStep(task.id, this.leaseOwner, step.name, { status: 'EXECUTING', beginAt: begin, endAt: null, errorCode: null }, begin))) return;
        if (this.o.stepDelayMs) await new Promise((r) => setTimeout(r, this.o.stepDelayMs));
        const stepAbort = new AbortController();
        const onAbort = () => stepAbort.abort();
        signal.addEventListener('abort', onAbort);
        const ctx: StepContext = {
          task,
          signal: stepAbort.signal,
          saveState: async (patch) => {
            state = { ...state, ...patch };
            if (!(await store.updateTaskState(task.id, this.leaseOwner, { state }, Date.now()))) throw new LeaseLost();
          },
          setDetails: async (patch) => {
            details = { ...details, ...patch };
            if (!(await store.updateTaskState(task.id, this.leaseOwner, { details }, Date.now()))) throw new LeaseLost();
          },
        };
        try {
          await withTimeout(step.run(ctx), step.timeoutMs ?? this.stepTimeoutMs, step.name, stepAbort);
        } catch (e) {
          // Lease lost, shutting down, or the store unreachable: nothing to record now; the task
          // stays resumable and is claimed again (here or elsewhere) once its lease runs out.
          if (e instanceof LeaseLost || e instanceof StoreUnavailable || (signal.aborted && !(e instanceof StepFailure))) return;
          const failure = e instanceof StepFailure ? e : new StepFailure('DCS.5000', `Step ${step.name} failed: ${safeMessage(e)}`);
          await store.updateStep(task.id, this.leaseOwner, step.name, { status: 'FAILED', endAt: Date.now(), errorCode: failure.code }, Date.now());
          throw failure;
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
        const end = Date.now();
        if (!(await store.updateStep(task.id, this.leaseOwner, step.name, { status: 'FINISH', endAt: end }, end))) return;
      }
      if (op.onSuccess) await op.onSuccess({ ...task, state, details });
      if (await store.finishTask(task.id, this.leaseOwner, 'SUCCESS', null, null, Date.now())) this.o.onFinished?.(task.id, 'SUCCESS');
      log.info('task succeeded');
    } catch (e) {
      if (e instanceof StoreUnavailable) {
        log.warn({ err: e }, 'store unavailable; the task will be resumed when its lease runs out');
        return;
      }
      const failure = e instanceof StepFailure ? e : new StepFailure('DCS.5000', safeMessage(e));
      let reason = failure.message;
      try {
        const after = op?.onFailure ? await op.onFailure(task, failure) : undefined;
        if (after) reason = `${reason} ${after}`;
      } catch (err) {
        log.error({ err }, 'failure handler failed');
      }
      await store.finishTask(task.id, this.leaseOwner, 'FAILED', failure.code, reason.slice(0, 1024), Date.now()).then(
        (ok) => ok && this.o.onFinished?.(task.id, 'FAILED'),
        (err) => log.error({ err }, 'recording the failure failed'),
      );
      log.warn({ error_code: failure.code, reason }, 'task failed');
    }
  }
}

interface RunningTask {
  abort: AbortController;
  done: Promise<void>;
  /** Local lease expiry: send time of the last successful claim or renewal plus the lease. */
  leaseValidUntil: number;
}

class LeaseLost extends Error {}

/** How many claims one round of the claim loop issues at most. */
const CLAIM_BATCH = 16;

function safeMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function withTimeout<T>(p: Promise<T>, ms: number, name: string, abort: AbortController): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new StepFailure('DCS.5000', `Step ${name} did not finish within ${Math.round(ms / 1000)} s.`));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
