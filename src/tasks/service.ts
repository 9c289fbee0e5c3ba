/**
 * TaskService: the domain rules of background tasks — starting one (one active task per
 * instance), reading them, and deleting finished ones with an audit record.
 */
import { randomBytes } from 'node:crypto';
import { Errors } from '../errors.js';
import type { TaskEngine } from '../engine/engine.js';
import type { InstancePatch, InstanceRecord } from '../instances/records.js';
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

/** The DCS state code and wording for "an instance busy with task X". */
const BUSY: Record<string, [string, string]> = {
  restartInstance: ['DCS.4111', 'restarting'],
  softRestartInstance: ['DCS.4111', 'restarting'],
  modifyConfigs: ['DCS.4114', 'being configured'],
  modify: ['DCS.4115', 'changing its password'],
  EXTEND: ['DCS.4113', 'being resized'],
};

export function busyError(activeTaskName: string) {
  const [code, what] = BUSY[activeTaskName] ?? ['DCS.4026', `running another task (${activeTaskName})`];
  return Errors.instanceBusy(code, what);
}

export const newTaskId = (): string => randomBytes(16).toString('hex');

export interface StartTask {
  instance: InstanceRecord;
  name: string;
  actor: Actor;
  /** Request parameters as shown to users: the caller removes secrets. */
  params: Record<string, unknown>;
  details?: Record<string, unknown>;
  state?: Record<string, unknown>;
  /** Written in the same transaction as the task (e.g. a pending password). */
  instancePatch?: InstancePatch;
}

export class TaskService {
  constructor(private readonly store: Store, private readonly engine: TaskEngine) {}

  /** Records the task and returns at once; the engine runs it. Refused while another runs. */
  async start(s: StartTask): Promise<TaskRecord> {
    const op = this.engine.operation(s.name);
    if (!op) throw new Error(`operation ${s.name} is not registered`);
    if (s.instance.status === 'CREATING' || s.instance.status === 'DELETING') {
      throw Errors.instanceBusy('DCS.4026', s.instance.status === 'CREATING' ? 'still being created' : 'being deleted');
    }
    const out = await this.store.createTask(
      {
        id: newTaskId(),
        projectId: s.instance.projectId,
        instanceId: s.instance.id,
        instanceName: s.instance.name,
        name: s.name,
        details: s.details ?? {},
        userId: s.actor.userId,
        userName: s.actor.userName,
        params: JSON.stringify(s.params),
        state: s.state ?? {},
        createdAt: Date.now(),
        steps: op.steps.map((x) => x.name),
      },
      { instancePatch: s.instancePatch, refuseStatuses: ['CREATING', 'DELETING'] },
    );
    if (!out.ok) {
      if (out.refused === 'busy') throw busyError(out.activeTask.name);
      if (out.refused === 'instance_gone') throw Errors.instanceNotFound();
      throw Errors.instanceBusy('DCS.4026', out.status === 'CREATING' ? 'still being created' : 'being deleted');
    }
    this.engine.kick();
    return out.task;
  }

  async list(projectId: string, instanceId: string | undefined, w: TaskWindow) {
    return this.store.listTasks({ projectId, instanceId, ...w });
  }

  async get(projectId: string, taskId: string, instanceId?: string): Promise<TaskRecord> {
    const t = await this.store.getTask(projectId, taskId);
    if (!t || (instanceId !== undefined && t.instanceId !== instanceId)) throw Errors.taskNotFound();
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
    const out = await this.store.deleteFinishedTask(projectId, taskId, instanceId, { ...actor, message });
    if (out === 'not_found') throw Errors.taskNotFound();
    if (out === 'running') throw Errors.taskRunning();
  }
}
