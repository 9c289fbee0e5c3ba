/**
 * Helpers built on the routes, shared by the CLI and the console: find a task by id alone, and
 * follow a task until it finishes. Browser-safe (setTimeout only).
 */
import type { DcsTasksClient } from './client.js';
import { DcsApiError } from './errors.js';
import type { CentreTask, Job, TaskProgress } from './types.js';

const PAGE = 1000; // the largest page the service allows

/**
 * The task-centre entry of a task (it carries the instance id), or undefined. The API has no
 * "get task by id" route, so this pages through the task centre, newest first.
 */
export async function findCentreTask(client: DcsTasksClient, taskId: string): Promise<CentreTask | undefined> {
  for (let offset = 0; ; offset += PAGE) {
    const page = await client.listCentreTasks({ offset, limit: PAGE });
    const hit = page.tasks.find((t) => t.id === taskId);
    if (hit) return hit;
    if (page.tasks.length < PAGE || offset + PAGE >= Number(page.task_count)) return undefined;
  }
}

export interface TaskUpdate {
  job: Job;
  /** Present when the task's instance is known and still exists. */
  progress?: TaskProgress;
}

export interface WaitOptions {
  /** Enables progress (percent, steps); without it only the job status is followed. */
  instanceId?: string;
  /** Poll interval; default 1 s. */
  intervalMs?: number;
  /** Give up after this long (WaitTimeoutError); default: never. */
  timeoutMs?: number;
  /** Called after every poll, the last time with the finished task. */
  onUpdate?: (u: TaskUpdate) => void;
}

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  constructor(readonly last: Job) {
    super(`task ${last.job_id} still ${last.status} after the wait timed out`);
  }
}

const finished = (j: Job) => j.status === 'SUCCESS' || j.status === 'FAIL';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until the task is SUCCESS or FAIL and returns its job; API errors propagate. */
export async function waitForTask(client: DcsTasksClient, taskId: string, o: WaitOptions = {}): Promise<Job> {
  const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
  for (;;) {
    const job = await client.getJob(taskId);
    let progress: TaskProgress | undefined;
    if (o.instanceId !== undefined) {
      // A finished task outlives its deleted instance in the task centre (DCS.3022 then). Anything
      // else is said: an instance without this task (DCS.4001), a malformed id (DCS.4061), an
      // instance that does not exist while the task runs (it would, were it the task's), a refusal.
      progress = await client.getTaskProgress(o.instanceId, taskId).catch((e: unknown) => {
        if (e instanceof DcsApiError && e.errorCode === 'DCS.3022' && finished(job)) return undefined;
        throw e;
      });
    }
    o.onUpdate?.({ job, progress });
    if (finished(job)) return job;
    if (Date.now() >= deadline) throw new WaitTimeoutError(job);
    await sleep(Math.max(0, Math.min(o.intervalMs ?? 1000, deadline - Date.now())));
  }
}
