/**
 * TaskEngine: claims runnable tasks from the store under a lease, runs their steps in order and
 * records every step's status and times. One timer renews the leases of all running tasks (as
 * BullMQ's Worker does); a task whose lease is not renewed is aborted at once, and every effect
 * of its steps checks the lease first, so work that lost its lease stops before its next effect.
 * A task whose owner died is claimed again and resumed after its last finished step (by name):
 * steps are written to be re-runnable. The engine knows no DCS code; the domain passes the one
 * unexpected failures get.
 */
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { StoreUnavailable, type Store } from '../store/types.js';
import type { TaskRecord } from '../tasks/records.js';
import { LeaseLost, StepFailure, type HookContext, type Operation, type StepContext } from './operation.js';
import { waitOrAbort } from './wait.js';

export interface EngineOptions {
  store: Store;
  logger: Logger;
  /** The code a task gets when it fails for a reason no step named (an unexpected error). */
  failureCode: string;
  /** This service node (stable across restarts); it claims only tasks it can run. */
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
   * tests set it (DCS_STEP_DELAY_MS) to kill or pause the service while a known step runs.
   */
  stepDelayMs?: number;
  /**
   * Called once a task's end (SUCCESS or FAILED) is written by this node — never for a task whose
   * lease was lost before, so a task is reported once, by its owner.
   */
  onFinished?: (task: { id: string; name: string }, status: 'SUCCESS' | 'FAILED', errorCode: string | null) => void;
  /**
   * Called once this node stops running a task, whatever the reason: it ended (after onFinished),
   * its lease was lost, the store failed, or the engine stopped. What was kept per running task
   * can go.
   */
  onReleased?: (taskId: string) => void;
}

/** A task this engine runs: how to abort it, and until when its lease holds by our own clock. */
interface Running {
  abort: AbortController;
  done: Promise<void>;
  validUntil: number;
}

export class TaskEngine {
  /** Lease owner: the node plus this process's incarnation, so a restarted node never mistakes an old lease for its own. */
  readonly leaseOwner: string;
  private readonly ops = new Map<string, Operation<unknown>>();
  private readonly running = new Map<string, Running>();
  private pollTimer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private claiming = false;
  private again = false;
  private stopped = true;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  /** Our own clock may run ahead of the store's judgement; stop this much before the lease ends. */
  private readonly marginMs: number;
  private readonly pollMs: number;
  private readonly stepTimeoutMs: number;
  private readonly concurrency: number;
  private readonly maxAttempts: number;

  constructor(private readonly o: EngineOptions) {
    this.leaseOwner = `${o.nodeId ?? 'node'}/${randomBytes(6).toString('hex')}`;
    this.leaseMs = o.leaseMs ?? 15_000;
    this.heartbeatMs = o.heartbeatMs ?? Math.floor(this.leaseMs / 3);
    this.marginMs = Math.floor(this.leaseMs / 10);
    this.pollMs = o.pollMs ?? 1000;
    this.stepTimeoutMs = o.stepTimeoutMs ?? 60_000;
    this.concurrency = o.concurrency ?? 16;
    this.maxAttempts = o.maxAttempts ?? 5;
  }

  register<S>(op: Operation<S>): void {
    this.ops.set(op.name, op as Operation<unknown>);
  }

  operation(name: string): Operation<unknown> | undefined {
    return this.ops.get(name);
  }

  start(): void {
    this.stopped = false;
    this.pollTimer = setInterval(() => this.kick(), this.pollMs);
    this.pollTimer.unref();
    this.renewTimer = setInterval(() => void this.renewAll(), this.heartbeatMs);
    this.renewTimer.unref();
    this.kick();
  }

  /** One store call renews every running task's lease; a task left out has lost it and is aborted. */
  private async renewAll(): Promise<void> {
    const ids = [...this.running.keys()];
    if (ids.length === 0) return;
    const sentAt = Date.now();
    let kept: Set<string>;
    try {
      kept = new Set(await this.o.store.renewLeases(this.leaseOwner, ids, this.leaseMs, sentAt));
    } catch (err) {
      // Unknown outcome: the leases run out by our own clock unless a later renewal succeeds.
      this.o.logger.warn({ err }, 'lease renewal failed');
      return;
    }
    for (const id of ids) {
      const r = this.running.get(id);
      if (!r) continue;
      if (kept.has(id)) r.validUntil = sentAt + this.leaseMs;
      else {
        this.o.logger.warn({ task_id: id }, 'lease lost; the task is left to its new owner');
        r.validUntil = 0;
        r.abort.abort(new LeaseLost());
      }
    }
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
      const free = Math.min(this.concurrency - this.running.size, CLAIM_BATCH);
      const claimedAt = Date.now();
      let claimed: TaskRecord[];
      try {
        claimed = await this.o.store.claimTasks(this.leaseOwner, free, this.leaseMs, claimedAt, this.o.nodeId);
      } catch (e) {
        this.o.logger.error({ err: e }, 'claiming tasks failed');
        return;
      }
      for (const task of claimed) {
        const r: Running = { abort: new AbortController(), done: Promise.resolve(), validUntil: claimedAt + this.leaseMs };
        this.running.set(task.id, r);
        r.done = this.runTask(task, r).finally(() => {
          this.running.delete(task.id);
          this.o.onReleased?.(task.id);
        });
      }
      if (claimed.length < free) return; // nothing more to claim right now
    }
  }

  /** Stops claiming and interrupts running tasks; they stay resumable. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** Resolves when no task runs on this node (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  private hookContext<S>(task: TaskRecord, r: Running, signal: AbortSignal): HookContext<S> {
    return {
      task: { id: task.id, name: task.name, instanceId: task.instanceId, state: task.state as S, details: task.details },
      signal,
      fence: { taskId: task.id, owner: this.leaseOwner },
      assertOwned: () => {
        if (signal.aborted || Date.now() >= r.validUntil - this.marginMs) throw new LeaseLost();
      },
    };
  }

  private async runTask(task: TaskRecord, r: Running): Promise<void> {
    const { store, logger } = this.o;
    const log = logger.child({ task_id: task.id, task: task.name, instance_id: task.instanceId });
    const op = this.ops.get(task.name);
    const owner = this.leaseOwner;
    let state = { ...task.state };
    let details = { ...task.details };
    try {
      if (!op) throw new StepFailure(this.o.failureCode, `No operation named ${task.name} is known to this service.`);
      if (task.attempts > this.maxAttempts) {
        throw new StepFailure(this.o.failureCode, `The task was interrupted ${task.attempts - 1} times and was not retried again.`);
      }
      log.info({ attempts: task.attempts }, task.attempts > 1 ? 'resuming task' : 'task started');
      const finished = new Set(task.steps.filter((s) => s.status === 'FINISH').map((s) => s.name));
      // The last step's end and the task's success go in one write when no hook runs between them.
      let endsWithSuccess: { name: string; begin: number } | null = null;
      for (const step of op.steps) {
        if (finished.has(step.name)) continue;
        if (r.abort.signal.aborted) return; // shutting down or lease lost: leave it resumable
        const begin = Date.now();
        if (!(await store.updateStep(task.id, owner, step.name, { status: 'EXECUTING', beginAt: begin, endAt: null, errorCode: null }, begin))) return;
        // The demonstration delay ends with the lease or the service: a stop does not wait it out.
        if (this.o.stepDelayMs && !(await waitOrAbort(this.o.stepDelayMs, r.abort.signal))) return;
        const stepAbort = new AbortController();
        const onAbort = () => stepAbort.abort();
        r.abort.signal.addEventListener('abort', onAbort);
        const ctx: StepContext<unknown> = {
          ...this.hookContext({ ...task, state, details }, r, stepAbort.signal),
          saveState: async (patch) => {
            state = { ...state, ...(patch as object) };
            if (!(await store.updateTaskState(task.id, owner, { state }, Date.now()))) throw new LeaseLost();
          },
          setDetails: async (patch) => {
            details = { ...details, ...patch };
            if (!(await store.updateTaskState(task.id, owner, { details }, Date.now()))) throw new LeaseLost();
          },
        };
        try {
          ctx.assertOwned();
          await withTimeout(step.run(ctx), step.timeoutMs ?? this.stepTimeoutMs, step.name, stepAbort, this.o.failureCode);
        } catch (e) {
          // Lease lost, shutting down, or the store unreachable: nothing to record now; the task
          // stays resumable and is claimed again (here or elsewhere) once its lease runs out.
          if (e instanceof LeaseLost || e instanceof StoreUnavailable || (r.abort.signal.aborted && !(e instanceof StepFailure))) {
            log.info({ step: step.name, reason: e instanceof Error ? e.name : 'aborted' }, 'step interrupted; the task stays resumable');
            return;
          }
          const failure = e instanceof StepFailure ? e : new StepFailure(this.o.failureCode, `Step ${step.name} failed: ${safeMessage(e)}`);
          await store.updateStep(task.id, owner, step.name, { status: 'FAILED', endAt: Date.now(), errorCode: failure.code }, Date.now());
          throw failure;
        } finally {
          r.abort.signal.removeEventListener('abort', onAbort);
        }
        if (step === op.steps.at(-1) && !op.onSuccess) {
          endsWithSuccess = { name: step.name, begin };
          break;
        }
        const end = Date.now();
        if (!(await store.updateStep(task.id, owner, step.name, { status: 'FINISH', endAt: end }, end))) return;
        log.info({ step: step.name, duration_ms: end - begin }, 'step finished');
      }
      const hook = this.hookContext<unknown>({ ...task, state, details }, r, r.abort.signal);
      if (op.onSuccess) {
        hook.assertOwned();
        await op.onSuccess(hook);
      }
      const end = Date.now();
      if (await store.finishTask(task.id, owner, 'SUCCESS', null, null, end, endsWithSuccess?.name)) {
        if (endsWithSuccess) log.info({ step: endsWithSuccess.name, duration_ms: end - endsWithSuccess.begin }, 'step finished');
        this.o.onFinished?.(task, 'SUCCESS', null);
        log.info('task succeeded');
      }
    } catch (e) {
      if (e instanceof StoreUnavailable || e instanceof LeaseLost) {
        log.warn({ err: e }, 'the task is left to be resumed by whoever holds its lease next');
        return;
      }
      await this.fail(task, { ...task, state, details }, r, op, e, log);
    }
  }

  /** Records a failure, after the operation's compensation — both only while the task is still ours. */
  private async fail(task: TaskRecord, now: TaskRecord, r: Running, op: Operation<unknown> | undefined, e: unknown, log: Logger): Promise<void> {
    const failure = e instanceof StepFailure ? e : new StepFailure(this.o.failureCode, safeMessage(e));
    let reason = failure.message;
    const hook = this.hookContext<unknown>(now, r, new AbortController().signal);
    try {
      hook.assertOwned();
      const after = op?.onFailure ? await op.onFailure(hook, failure) : undefined;
      if (after) reason = `${reason} ${after}`;
    } catch (err) {
      if (err instanceof LeaseLost || err instanceof StoreUnavailable) {
        log.warn({ err }, 'lost the task before recording its failure; it is left to its new owner');
        return;
      }
      log.error({ err }, 'failure handler failed');
    }
    try {
      if (await this.o.store.finishTask(task.id, this.leaseOwner, 'FAILED', failure.code, reason.slice(0, 1024), Date.now())) {
        this.o.onFinished?.(task, 'FAILED', failure.code);
        log.warn({ error_code: failure.code, reason }, 'task failed');
      }
    } catch (err) {
      log.error({ err }, 'recording the failure failed');
    }
  }
}

/** How many tasks one claim takes at most. */
const CLAIM_BATCH = 16;

function safeMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function withTimeout<T>(p: Promise<T>, ms: number, name: string, abort: AbortController, code: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new StepFailure(code, `Step ${name} did not finish within ${Math.round(ms / 1000)} s.`));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
