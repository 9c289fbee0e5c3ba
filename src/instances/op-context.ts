/** What every operation needs: the store, the runtime, and the instance as it is now. */
import { StepFailure, type StepContext } from '../engine/operation.js';
import type { InstanceRecord } from './records.js';
import type { Store } from '../store/types.js';
import type { TaskRecord } from '../tasks/records.js';
import { ping, type RedisTarget } from '../redis/commands.js';
import type { InstanceRuntime } from './runtime.js';

export interface OpDeps {
  store: Store;
  runtime: InstanceRuntime;
}

/** Re-read at every step: an earlier step (or an earlier run of this task) may have changed it. */
export async function currentInstance(d: OpDeps, from: StepContext | TaskRecord): Promise<InstanceRecord> {
  const task = 'task' in from ? from.task : from;
  const i = await d.store.getInstanceById(task.instanceId);
  if (!i) throw new StepFailure('DCS.3022', 'The instance was deleted while the task ran.');
  return i;
}

/** The first password Redis accepts, or undefined when it accepts none. */
export async function acceptedPassword(t: RedisTarget, candidates: (string | null)[]): Promise<string | null | undefined> {
  for (const pw of candidates) {
    if (await ping({ ...t, password: pw })) return pw;
  }
  return undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` is true, failing the step with `why` after `ms`. */
export async function until(check: () => Promise<boolean>, ms: number, why: string, signal?: AbortSignal): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (signal?.aborted) throw new StepFailure('DCS.5000', why);
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new StepFailure('DCS.5000', why);
}

/** Where an instance was left, for fail_reason. */
export async function instanceState(d: OpDeps, i: InstanceRecord): Promise<string> {
  const up = d.runtime.isUp(i) && (await ping(d.runtime.targetOf(i)));
  await d.store.updateInstance(i.id, { status: up ? 'RUNNING' : 'ERROR' });
  return up ? 'The instance is running.' : 'The instance is not answering; the supervisor keeps trying to start it.';
}
