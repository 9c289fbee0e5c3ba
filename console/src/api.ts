/**
 * The one place the console talks to the API: the typed client (src/client), which signs each
 * request in this tab with Web Crypto (AK/SK) or sends X-Auth-Token. Pages call `ConsoleApi`
 * and never see the client, so its shapes and method names stay out of the pages.
 */
import { DcsApiError, DcsNetworkError, DcsTasksClient } from '../../src/client/index.js';
import type { Instance, Progress, TaskAudit, TaskPage, TaskQuery } from './types';
import { migrationsApi, recordsApi, type MigrationsApi, type RecordsApi } from './recordsApi';

export interface SignIn {
  endpoint: string;
  projectId: string;
  accessKey?: string;
  secretKey?: string;
  token?: string;
}

/** An operation that starts a background task on one instance (api.md "Operations"). */
export type Operation =
  | { kind: 'restart' | 'soft_restart' | 'flush' }
  | { kind: 'password'; old_password: string | null; new_password: string }
  | { kind: 'config'; param_name: string; param_value: string }
  | { kind: 'resize'; new_capacity: number }
  | { kind: 'add_replica' }
  | { kind: 'remove_replica'; node: string }
  | { kind: 'swap' }
  | { kind: 'port'; port: number };

export interface ConsoleApi {
  operate(instanceId: string, op: Operation): Promise<void>;
  listInstances(): Promise<Instance[]>;
  getInstance(id: string): Promise<Instance>;
  listInstanceTasks(instanceId: string, q: TaskQuery): Promise<TaskPage>;
  taskProgress(instanceId: string, taskId: string): Promise<Progress>;
  deleteInstanceTask(instanceId: string, taskId: string): Promise<void>;
  listTasks(q: TaskQuery): Promise<TaskPage>;
  deleteTask(taskId: string): Promise<void>;
  /** The job route's fail_reason of a task (null when it has none). */
  failReason(taskId: string): Promise<string | null>;
  /**
   * The same for a task of an instance's list, which carries no error_code (the centre's does):
   * "DCS.4113: reason", the code from the failed step.
   */
  instanceFailReason(instanceId: string, taskId: string): Promise<string | null>;
  listAudit(q: { offset: number; limit: number }): Promise<{ total: number; audits: TaskAudit[] }>;
  records: RecordsApi;
  migrations: MigrationsApi;
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
  const operate = async (id: string, op: Operation): Promise<void> => {
    switch (op.kind) {
      case 'restart': case 'soft_restart': case 'flush': {
        const r = await c.changeInstancesStatus([id], op.kind);
        // A single instance that cannot run it is answered with the state code already.
        if (r.results[0]?.result !== 'success') throw new Error(`The service did not start the ${op.kind} task.`);
        return;
      }
      case 'password': await c.changePassword(id, { old_password: op.old_password, new_password: op.new_password }); return;
      case 'config': await c.modifyConfigs(id, [{ param_name: op.param_name, param_value: op.param_value }]); return;
      case 'resize': await c.resizeInstance(id, { new_capacity: op.new_capacity }); return;
      case 'add_replica': await c.resizeInstance(id, { change_type: 'createReplication' }); return;
      case 'remove_replica': await c.resizeInstance(id, { change_type: 'deleteReplication', node_list: [op.node] }); return;
      case 'swap': await c.swapInstance(id); return;
      case 'port': await c.modifyInstance(id, { port: op.port }); return;
    }
  };
  return {
    operate,
    listInstances: async () => (await c.listInstances()).instances,
    getInstance: (id) => c.getInstance(id),
    listInstanceTasks: async (id, q) => page(await c.listTasks(id, taskWindow(q))),
    taskProgress: (id, t) => c.getTaskProgress(id, t),
    deleteInstanceTask: async (id, t) => { await c.deleteTask(id, t); },
    listTasks: async (q) => page(await c.listCentreTasks(taskWindow(q))),
    deleteTask: async (t) => { await c.deleteCentreTask(t); },
    failReason: async (t) => (await c.getJob(t)).fail_reason,
    instanceFailReason: async (id, t) => {
      const [job, progress] = await Promise.all([c.getJob(t), c.getTaskProgress(id, t).catch(() => null)]);
      const code = progress?.step_details.find((s) => s.error_code)?.error_code;
      return code ? `${code}: ${job.fail_reason ?? 'the task failed.'}` : job.fail_reason;
    },
    listAudit: async (q) => {
      const r = await c.listTaskAudit(q);
      return { total: Number(r.count), audits: r.audits };
    },
    records: recordsApi(c),
    migrations: migrationsApi(c),
  };
}
