/** The typed client (src/client) bound to a test service and one of its credentials. */
import { DcsTasksClient, waitForTask, type Job } from '../../src/client/index.js';
import type { Service, TestCredential } from './service.js';

export function typedClient(svc: Service, cred: TestCredential, extra: { timeoutMs?: number } = {}): DcsTasksClient {
  return new DcsTasksClient({ endpoint: svc.url, projectId: cred.project_id, accessKey: cred.access_key, secretKey: cred.secret_key, ...extra });
}

/** Waits until the instance is RUNNING. */
export async function untilRunning(c: DcsTasksClient, id: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await c.getInstance(id)).status !== 'RUNNING') {
    if (Date.now() > end) throw new Error(`instance ${id} not RUNNING after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The newest task of an instance with this name, once it exists. */
export async function newestTask(c: DcsTasksClient, instanceId: string, name: string, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const t = (await c.listTasks(instanceId, { limit: 1000 })).tasks.find((x) => x.name === name);
    if (t) return t;
    if (Date.now() > end) throw new Error(`no ${name} task on ${instanceId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function finishedJob(c: DcsTasksClient, taskId: string, instanceId?: string): Promise<Job> {
  return waitForTask(c, taskId, { instanceId, intervalMs: 100, timeoutMs: 60_000 });
}
