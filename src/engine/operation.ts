/**
 * What the engine runs: an operation is a named list of steps. The engine knows nothing about
 * Redis or instances; the domain layers register operations with their steps.
 */
import type { TaskRecord } from '../tasks/records.js';

/** A failure the task records as its error_code / fail_reason. */
export class StepFailure extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'StepFailure';
  }
}

export interface StepContext {
  readonly task: TaskRecord;
  /** Aborted when the service shuts down or the step times out: stop at the next safe point. */
  readonly signal: AbortSignal;
  /** Persists operation state (never a secret) so a resumed run knows what already happened. */
  saveState(patch: Record<string, unknown>): Promise<void>;
  /** Merges into the task's user-visible details. */
  setDetails(patch: Record<string, unknown>): Promise<void>;
}

export interface OperationStep {
  name: string;
  /** Milliseconds before a hanging step fails the task (default: the engine's stepTimeoutMs). */
  timeoutMs?: number;
  run(ctx: StepContext): Promise<void>;
}

export interface Operation {
  /** The task name, e.g. `restartInstance`. */
  name: string;
  steps: OperationStep[];
  /**
   * Called once when the task ends FAILED (after a step failure, a timeout or a takeover that
   * gave up), so the domain can leave the instance in a known state. Returns a sentence about
   * that state, appended to fail_reason.
   */
  onFailure?(task: TaskRecord, error: StepFailure): Promise<string | void>;
  /** Called once when the task ends SUCCESS. */
  onSuccess?(task: TaskRecord): Promise<void>;
}
