/**
 * The one place the console talks to the API. Pages call `ConsoleApi`; how requests are made
 * and signed lives here only, so moving to the typed client (src/client) is a change to this file.
 *
 * INTERIM: until the typed client lands, requests go out with fetch and only token sign-in
 * works (an AK/SK signature needs the client's signer; the console has no copy of its own).
 */
import type { Instance, Progress, TaskPage, TaskQuery } from './types';

export interface SignIn {
  endpoint: string;
  projectId: string;
  accessKey?: string;
  secretKey?: string;
  token?: string;
}

/** An API error as the pages show it; the same fields as the typed client's DcsApiError. */
export class ApiError extends Error {
  constructor(readonly errorCode: string, readonly httpStatus: number, readonly requestId: string | null, message: string) {
    super(message);
  }
}

export interface ConsoleApi {
  listInstances(): Promise<Instance[]>;
  getInstance(id: string): Promise<Instance>;
  listInstanceTasks(instanceId: string, q: TaskQuery): Promise<TaskPage>;
  taskProgress(instanceId: string, taskId: string): Promise<Progress>;
  deleteInstanceTask(instanceId: string, taskId: string): Promise<void>;
  listTasks(q: TaskQuery): Promise<TaskPage>;
  deleteTask(taskId: string): Promise<void>;
}

/** "DCS.4001: The task does not exist. (request id 3f…)" — what a user can quote to support. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) return `${e.errorCode}: ${e.message}${e.requestId ? ` (request id ${e.requestId})` : ''}`;
  if (e instanceof TypeError) return `The service could not be reached (${e.message}).`;
  return e instanceof Error ? e.message : String(e);
}

export function connect(s: SignIn): ConsoleApi {
  if (!s.token) throw new ApiError('CONSOLE', 0, null, 'Access key sign-in needs the typed client, which this build does not have yet; use a token.');
  const base = `${s.endpoint.replace(/\/+$/, '')}/v2/${encodeURIComponent(s.projectId)}`;
  const call = async <T>(method: string, path: string, query?: Record<string, string | number | undefined>): Promise<T> => {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') qs.set(k, String(v));
    const url = `${base}${path}${qs.size ? `?${qs}` : ''}`;
    const res = await fetch(url, { method, headers: { 'Content-Type': 'application/json', 'X-Auth-Token': s.token! } });
    const text = await res.text();
    const body = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      throw new ApiError(body?.error_code ?? `HTTP ${res.status}`, res.status, res.headers.get('X-Request-Id'), body?.error_msg ?? res.statusText);
    }
    return body as T;
  };
  const page = (r: { task_count: string; tasks: TaskPage['tasks'] }): TaskPage => ({ total: Number(r.task_count), tasks: r.tasks });
  return {
    listInstances: async () => (await call<{ instances: Instance[] }>('GET', '/instances')).instances,
    getInstance: (id) => call('GET', `/instances/${id}`),
    listInstanceTasks: async (id, q) => page(await call('GET', `/instances/${id}/tasks`, { ...q })),
    taskProgress: (id, t) => call('GET', `/instances/${id}/tasks/${t}/progress`),
    deleteInstanceTask: async (id, t) => { await call('DELETE', `/instances/${id}/tasks/${t}`); },
    listTasks: async (q) => page(await call('GET', '/tasks', { ...q })),
    deleteTask: async (t) => { await call('DELETE', `/tasks/${t}`); },
  };
}
