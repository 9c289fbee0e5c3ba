/** Waiting on replication, shared by the operations that add replicas or move the master. */
import { StepFailure } from '../engine/operation.js';
import { infoSection } from '../redis/commands.js';
import type { InstanceRecord, NodeRecord } from '../instances/records.js';
import type { OpRun } from './operation.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` is true, failing the step with `why` after `ms`. */
export async function until(check: () => Promise<boolean>, ms: number, why: string, signal?: AbortSignal): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (signal?.aborted) throw new StepFailure('DCS.5000', why);
    if (await check().catch((e) => { if (e instanceof Error && e.name === 'LeaseLost') throw e; return false; })) return;
    await sleep(200);
  }
  throw new StepFailure('DCS.5000', why);
}

export async function linkUp<S>(x: OpRun<S>, i: InstanceRecord, n: NodeRecord): Promise<boolean> {
  return (await infoSection(x.nodeTarget(i, n), 'replication')).master_link_status === 'up';
}
