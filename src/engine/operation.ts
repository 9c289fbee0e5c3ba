/**
 * What the engine runs: an operation is a named list of steps over a typed state. The engine
 * knows nothing about Redis, instances or DCS codes; the domain registers operations with their
 * steps and tells the engine which code an unexpected failure gets.
 */

/** A failure the task records as its error_code / fail_reason. */
export class StepFailure extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'StepFailure';
  }
}

/**
 * The task no longer belongs to this engine (its lease ran out or another node took it over).
 * Thrown before an effect the owner alone may make; the task is left for its new owner.
 */
export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

/** The task as the engine hands it to a step. */
export interface RunningTask<S> {
  readonly id: string;
  readonly name: string;
  readonly instanceId: string;
  readonly state: S;
  readonly details: Record<string, unknown>;
}

/** Who holds a task's lease: the store checks it in the same statement as every write. */
export interface Fence {
  taskId: string;
  owner: string;
}

/** What a step (and a failure or success hook) gets from the engine. */
export interface StepContext<S> {
  readonly task: RunningTask<S>;
  /** Aborted when the lease is lost, the service shuts down or the step times out. */
  readonly signal: AbortSignal;
  /** For store writes that must happen only while this engine owns the task. */
  readonly fence: Fence;
  /**
   * Throws LeaseLost unless this engine still owns the task by its own clock (the lease it last
   * renewed has not run out, with a safety margin) and the step has not been aborted. Call it
   * right before every effect on Redis.
   */
  assertOwned(): void;
  /** Persists operation state (never a secret) so a resumed run knows what already happened. */
  saveState(patch: Partial<S>): Promise<void>;
  /** Merges into the task's user-visible details. */
  setDetails(patch: Record<string, unknown>): Promise<void>;
}

export interface OperationStep<S> {
  name: string;
  /** Milliseconds before a hanging step fails the task (default: the engine's stepTimeoutMs). */
  timeoutMs?: number;
  run(ctx: StepContext<S>): Promise<void>;
}

/** Hooks get the same fenced context, without saveState/setDetails being of any use there. */
export type HookContext<S> = Omit<StepContext<S>, 'saveState' | 'setDetails'>;

export interface Operation<S = unknown> {
  /** The task name, e.g. `restartInstance`. */
  name: string;
  steps: OperationStep<S>[];
  /**
   * Called once when the task ends FAILED, only while this engine still owns it, so the domain
   * can leave the instance in a known state. Returns a sentence about that state, appended to
   * fail_reason.
   */
  onFailure?(ctx: HookContext<S>, error: StepFailure): Promise<string | void>;
  /** Called once when every step has finished, before the task is recorded SUCCESS. */
  onSuccess?(ctx: HookContext<S>): Promise<void>;
}
