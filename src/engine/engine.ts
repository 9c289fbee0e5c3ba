/**
 * TaskEngine: claims runnable tasks from the store under a lease, runs their steps in order,
 * renews the lease while it works, and records every step's status and times. A task whose
 * owner died (lease expired) is claimed again and resumed after its last finished step: steps
 * are written to be idempotent, so re-running an interrupted one is safe.
 */
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { StoreUnavailable, type Store } from '../store/types.js';
import type { TaskRecord } from '../tasks/records.js';
import { StepFailure, type Operation, type StepContext } from './operation.js';

export interface EngineOptions {
  store: Store;
  logger: Logger;
  /** This service node (stable across restarts); it runs only tasks it can run (see claimTask). */
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
  private readonly ops = new Map<string, Operation>();
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | null = null;
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
    this.leaseOwner = `${o.nodeId ?? 'node'}/${randomBytes(6).toString('hex')}`;
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
    if (this.o.nodeId && this.o.store.heartbeatNode) {
      void this.beat();
      this.nodeTimer = setInterval(() => void this.beat(), this.heartbeatMs);
      this.nodeTimer.unref();
    }
  }

  /** Multi-node: says this node is alive, and fails the tasks a dead node left behind. */
  private async beat(): Promise<void> {
    const { store, nodeId, logger } = this.o;
    try {
      const now = Date.now();
      await store.heartbeatNode!(nodeId!, now);
      this.beatingSince ??= now;
      // Only a node that has itself been beating for a whole dead-node interval may judge the
      // others: after a database outage every node's heartbeat is old, and the first one back
      // must not fail the tasks of nodes that are merely reconnecting.
      if (now - this.beatingSince < this.nodeDeadAfterMs) return;
      const failed = (await store.failOrphanedTasks?.(now - this.nodeDeadAfterMs, now)) ?? [];
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
    if (!this.o.store.nodeHeartbeats) return () => true;
    const beats = await this.o.store.nodeHeartbeats();
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
      // Claims issued together share one store round (one group commit on SQLite).
      const free = Math.min(this.concurrency - this.running.size, CLAIM_BATCH);
      let claimed: (TaskRecord | null)[];
      try {
        claimed = await Promise.all(Array.from({ length: free }, () => this.o.store.claimTask(this.leaseOwner, this.leaseMs, Date.now(), this.o.nodeId)));
      } catch (e) {
        this.o.logger.error({ err: e }, 'claiming a task failed');
        return;
      }
      for (const task of claimed) {
        if (!task) continue;
        const abort = new AbortController();
        const done = this.runTask(task, abort.signal).finally(() => this.running.delete(task.id));
        this.running.set(task.id, { abort, done });
      }
      if (claimed.some((t) => t === null)) return; // nothing more to claim right now
    }
  }

  /** Stops claiming and interrupts running tasks at their next step boundary; they stay resumable. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.nodeTimer) clearInterval(this.nodeTimer);
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
    let lost = false;
    const heartbeat = setInterval(() => {
      store.renewLease(task.id, this.leaseOwner, this.leaseMs, Date.now()).then(
        (ok) => { if (!ok) lost = true; },
        (err) => log.warn({ err }, 'lease renewal failed'),
      );
    }, this.heartbeatMs);
    heartbeat.unref();
    try {
      if (!op) throw new StepFailure('DCS.5000', `No operation named ${task.name} is known to this service.`);
      if (task.attempts > this.maxAttempts) {
        throw new StepFailure('DCS.5000', `The task was interrupted ${task.attempts - 1} times and was not retried again.`);
      }
      if (task.attempts > 1) log.info({ attempts: task.attempts }, 'resuming task');
      let state = { ...task.state };
      let details = { ...task.details };
      for (const step of op.steps) {
        const index = op.steps.indexOf(step);
        if (task.steps[index]?.status === 'FINISH') continue;
        if (signal.aborted || lost) return; // leave it resumable
        const begin = Date.now();
        if (!(await store.updateStep(task.id, this.leaseOwner, index, { status: 'EXECUTING', beginAt: begin, endAt: null, errorCode: null }, begin))) return;
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
          await store.updateStep(task.id, this.leaseOwner, index, { status: 'FAILED', endAt: Date.now(), errorCode: failure.code }, Date.now());
          throw failure;
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
        const end = Date.now();
        if (!(await store.updateStep(task.id, this.leaseOwner, index, { status: 'FINISH', endAt: end }, end))) return;
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
    } finally {
      clearInterval(heartbeat);
    }
  }
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
