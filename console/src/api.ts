/**
 * The one place the console talks to the API: the typed client (src/client), which signs each
 * request in this tab with Web Crypto (AK/SK) or sends X-Auth-Token. Pages call `ConsoleApi`
 * and never see the client, so its shapes and method names stay out of the pages.
 */
import { DcsApiError, DcsNetworkError, DcsTasksClient } from '../../src/client/index.js';
import type { Instance, Progress, TaskAudit, TaskPage, TaskQuery } from './types';

export interface SignIn {
  endpoint: string;
  projectId: string;
  accessKey?: string;
  secretKey?: string;
  token?: string;
}

export interface ConsoleApi {
  listInstances(): Promise<Instance[]>;
  getInstance(id: string): Promise<Instance>;
  listInstanceTasks(instanceId: string, q: TaskQuery): Promise<TaskPage>;
  taskProgress(instanceId: string, taskId: string): Promise<Progress>;
  deleteInstanceTask(instanceId: string, taskId: string): Promise<void>;
  listTasks(q: TaskQuery): Promise<TaskPage>;
  deleteTask(taskId: string): Promise<void>;
  /** The job route's fail_reason of a task (null when it has none). */
  failReason(taskId: string): Promise<string | null>;
  listAudit(q: { offset: number; limit: number }): Promise<{ total: number; audits: TaskAudit[] }>;
}

/** "DCS.4001: The task does not exist. (request id 3f…)" — what a user can quote to support. */
export function describeError(e: unknown): string {
  if (e instanceof DcsApiError) return `${e.errorCode}: ${e.message}${e.requestId ? ` (request id ${e.requestId})` : ''}`;
  if (e instanceof DcsNetworkError) return `The service could not be reached: ${e.message}.`;
  return e instanceof Error ? e.message : String(e);
}

/** Empty filter fields are left out of the query rather than sent empty (DCS.4800). */
function taskWindow(q: TaskQuery) {
  return { offset: q.offset, limit: q.limit, start_time: q.start_time || undefined, end_time: q.end_time || undefined };
}

/** Throws TypeError for an unusable sign-in (no project, endpoint not a URL): shown as is. */
export function connect(s: SignIn): ConsoleApi {
  const c = new DcsTasksClient(s.token
    ? { endpoint: s.endpoint, projectId: s.projectId, token: s.token }
    : { endpoint: s.endpoint, projectId: s.projectId, accessKey: s.accessKey, secretKey: s.secretKey });
  const page = (r: { task_count: string; tasks: TaskPage['tasks'] }): TaskPage => ({ total: Number(r.task_count), tasks: r.tasks });
  return {
    listInstances: async () => (await c.listInstances()).instances,
    getInstance: (id) => c.getInstance(id),
    listInstanceTasks: async (id, q) => page(await c.listTasks(id, taskWindow(q))),
    taskProgress: (id, t) => c.getTaskProgress(id, t),
    deleteInstanceTask: async (id, t) => { await c.deleteTask(id, t); },
    listTasks: async (q) => page(await c.listCentreTasks(taskWindow(q))),
    deleteTask: async (t) => { await c.deleteCentreTask(t); },
    failReason: async (t) => (await c.getJob(t)).fail_reason,
    listAudit: async (q) => {
      const r = await c.listTaskAudit(q);
      return { total: Number(r.count), audits: r.audits };
    },
  };
}
