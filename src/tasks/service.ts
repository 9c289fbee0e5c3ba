/**
 * TaskService: the domain rules of background tasks — starting one (one active task per
 * instance), reading them, and deleting finished ones with an audit record.
 */
import { randomBytes } from 'node:crypto';
import { DcsError, Errors } from '../errors.js';
import type { Logger } from 'pino';
import type { TaskEngine } from '../engine/engine.js';
import type { InstanceRecord, InstanceStatus } from '../instances/records.js';
import type { TaskPlan } from '../operations/operation.js';
import { busyOf } from '../operations/registry.js';
import type { Store } from '../store/types.js';
import type { TaskRecord } from './records.js';

export interface Actor {
  userId: string;
  userName: string;
}

export interface TaskWindow {
  offset: number;
  limit: number;
  from?: number;
  to?: number;
}

/** The refusal an instance busy with a task of this name gives (its operation's busy code). */
export function busyError(activeTaskName: string): DcsError {
  const { code, what } = busyOf(activeTaskName);
  return Errors.instanceBusy(code, what);
}

/** Instance states in which no task may start, and what they answer (automation.md §1.3). */
const REFUSED_STATES: InstanceStatus[] = ['CREATING', 'DELETING', 'ERROR', 'CREATEFAILED'];

function stateError(status: InstanceStatus): DcsError {
  if (status === 'CREATING') return Errors.instanceBusy('DCS.4118', 'still being created');
  if (status === 'DELETING') return Errors.instanceBusy('DCS.4026', 'being deleted');
  return new DcsError('DCS.4049', `The instance status is ${status}, not RUNNING.`);
}

export const newTaskId = (): string => randomBytes(16).toString('hex');

export class TaskService {
  constructor(
    private readonly store: Store,
    private readonly engine: TaskEngine,
    /** Task lifecycle lines that are the domain's to tell (a deletion and who made it). */
    private readonly logger?: Logger,
  ) {}

  /**
   * Records the task and returns at once; the engine runs it. The store decides atomically:
   * refused while another task of the instance runs, or when the instance is gone or not ready.
   */
  async start<S>(op: { name: string; steps: readonly { name: string }[] }, instance: InstanceRecord, plan: TaskPlan<S>, actor: Actor): Promise<TaskRecord> {
    const out = await this.store.createTask(
      {
        id: newTaskId(),
        projectId: instance.projectId,
        instanceId: instance.id,
        instanceName: instance.name,
        name: op.name,
        details: plan.details ?? {},
        userId: actor.userId,
        userName: actor.userName,
        params: JSON.stringify(plan.params),
        state: plan.state as Record<string, unknown>,
        createdAt: Date.now(),
        steps: op.steps.map((x) => x.name),
        initialStatus: 'EXECUTING',
      },
      { instancePatch: plan.instancePatch, claimPort: plan.claimPort, refuseStatuses: REFUSED_STATES },
    );
    if (out.ok) {
      this.engine.kick();
      return out.task;
    }
    if (out.refused === 'busy') throw busyError(out.activeTask.name);
    if (out.refused === 'instance_gone') throw Errors.instanceNotFound();
    if (out.refused === 'port_taken') throw Errors.portOfAnotherInstance(out.port);
    throw stateError(out.status);
  }

  /** The tasks of an instance (404 DCS.3022 when it is unknown), or of the project when `instanceId` is undefined. */
  async list(projectId: string, instanceId: string | undefined, w: TaskWindow) {
    return this.withInstance(projectId, instanceId, () => this.store.listTasks({ projectId, instanceId, ...w }));
  }

  async get(projectId: string, taskId: string, instanceId?: string): Promise<TaskRecord> {
    const t = await this.withInstance(projectId, instanceId, () => this.store.getTask(projectId, taskId));
    if (!t || (instanceId !== undefined && t.instanceId !== instanceId)) throw Errors.taskNotFound();
    return t;
  }

  /**
   * A read of the instance's tasks (or the project's, when `instanceId` is undefined) sent to the
   * store together with the instance check: one wait, not two. Its answer is discarded when the
   * instance is unknown, and that error wins whichever fails first.
   */
  private async withInstance<T>(projectId: string, instanceId: string | undefined, read: () => Promise<T>): Promise<T> {
    const [known, value] = await Promise.allSettled([
      instanceId !== undefined ? this.instanceMustExist(projectId, instanceId) : undefined,
      read(),
    ]);
    if (known.status === 'rejected') throw known.reason;
    if (value.status === 'rejected') throw value.reason;
    return value.value;
  }

  /** A task looked up as a job: the same record, "job" in the error. */
  async job(projectId: string, jobId: string): Promise<TaskRecord> {
    const t = await this.store.getTask(projectId, jobId);
    if (!t) throw Errors.jobNotFound();
    return t;
  }

  /** Progress of a task: percent of steps finished and an estimate of the time left. */
  async progress(t: TaskRecord): Promise<{ progress: number; remainTime: number }> {
    const finished = t.status === 'SUCCESS' || t.status === 'FAILED';
    if (finished) return { progress: 100, remainTime: 0 };
    const done = t.steps.filter((s) => s.status === 'FINISH').length;
    const progress = t.steps.length ? Math.min(99, Math.floor((done * 100) / t.steps.length)) : 0;
    const past = await this.store.recentDurations(t.name, 20);
    const typical = past.length ? past.reduce((a, b) => a + b, 0) / past.length : 0;
    const elapsed = t.startedAt ? Date.now() - t.startedAt : 0;
    return { progress, remainTime: Math.max(0, Math.ceil((typical - elapsed) / 1000)) };
  }

  /** Deletes a finished task; `instanceId` null for the task-centre route. */
  async delete(projectId: string, taskId: string, instanceId: string | null, actor: Actor, message: string | null): Promise<void> {
    // The store checks the instance in the delete itself; it is looked up only to say why not.
    const out = await this.store.deleteFinishedTask(projectId, taskId, instanceId, { ...actor, message });
    if (out === 'deleted') {
      this.logger?.info({ task_id: taskId, project_id: projectId, deleted_by: actor.userName, user_id: actor.userId, message }, 'task deleted');
      return;
    }
    if (instanceId !== null) await this.instanceMustExist(projectId, instanceId);
    if (out === 'not_found') throw Errors.taskNotFound();
    if (out === 'running') throw Errors.taskRunning();
  }

  private async instanceMustExist(projectId: string, instanceId: string): Promise<void> {
    if (!(await this.store.getInstance(projectId, instanceId))) throw Errors.instanceNotFound();
  }
}
