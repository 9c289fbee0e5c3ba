/** A managed instance for tests: created through the API and waited for until RUNNING. */
import assert from 'node:assert/strict';
import { waitFor, type Client } from './client.js';

export async function createRunningInstance(admin: Client, name: string, password: string): Promise<{ id: string; port: number }> {
  const r = await admin.post(`/v2/{p}/instances`, { name, engine: 'Redis', engine_version: '7.0', capacity: 0.25, password });
  assert.equal(r.status, 200, r.text);
  const id: string = r.body.instances[0].instance_id;
  const shown = await waitFor(async () => {
    const x = await admin.get(`/v2/{p}/instances/${id}`);
    return x.body.status === 'RUNNING' && x;
  }, 20_000, `${name} RUNNING`);
  return { id, port: shown.body.port };
}

/** An attached Redis (`redis_url`, no password) for tests, waited for until RUNNING; its instance id. */
export async function attachRunningRedis(admin: Client, name: string, redisUrl: string): Promise<string> {
  const r = await admin.post(`/v2/{p}/instances`, { name, engine: 'Redis', engine_version: '7.0', capacity: 1, redis_url: redisUrl, no_password_access: true });
  assert.equal(r.status, 200, r.text);
  const id: string = r.body.instances[0].instance_id;
  await waitFor(async () => (await admin.get(`/v2/{p}/instances/${id}`)).body.status === 'RUNNING', 20_000, `${name} RUNNING`);
  return id;
}
