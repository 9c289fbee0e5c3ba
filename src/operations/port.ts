/**
 * PUT /v2/{project_id}/instances/{id}: name, description and the automatic backup policy change at once; a new port is the
 * UpdatePort task — the master moves to the new port (the old one closes) and replicas follow.
 */
import { Errors } from '../errors.js';
import { StepFailure } from '../engine/operation.js';
import { ping, withRedis } from '../redis/commands.js';
import { isPortFree } from '../redis/ports.js';
import { masterOf } from '../instances/runtime.js';
import { INSTANCE_NAME, PORT } from '../instances/schemas.js';
import type { Endpoint, InstanceOperation, OperationModule } from './operation.js';
import { BACKUP_POLICY_SCHEMA, type BackupPolicyBody } from '../records/backup-policy.js';

interface PortState { newPort: number }

export const updatePort: InstanceOperation<PortState> = {
  name: 'UpdatePort',
  busy: { code: 'DCS.4026', what: 'changing its port' },
  steps: [
    {
      name: 'Move the master to the new port',
      run: async (x) => {
        let i = await x.instance();
        const { newPort } = x.state;
        const master = masterOf(i);
        if (master.port !== newPort) {
          await x.processes.stopNode(i, master.name);
          i = await x.save(i, { port: newPort, nodes: i.nodes.map((n) => (n.name === master.name ? { ...n, port: newPort } : n)) });
        }
        if (!(await ping(x.target(i)))) await x.processes.startNode(i, masterOf(i));
      },
    },
    {
      name: 'Point the replicas at the new port',
      run: async (x) => {
        const i = await x.instance();
        for (const n of i.nodes.filter((y) => y.role === 'replica')) {
          await withRedis(x.nodeTarget(i, n), (r) => r.call('REPLICAOF', i.host, String(i.port)));
        }
      },
    },
    {
      name: 'Check the new port answers',
      run: async (x) => {
        const i = await x.instance();
        if (!(await ping(x.target(i)))) throw new StepFailure('DCS.5000', `Redis does not answer on port ${i.port}.`);
      },
    },
  ],
  onFailure: (x) => x.settleIfPresent(),
};

export interface ModifyInstanceRequest {
  name?: string;
  description?: string;
  port?: number;
  instance_backup_policy?: BackupPolicyBody;
}

const updateInstance: Endpoint<ModifyInstanceRequest> = {
  method: 'PUT',
  url: '/instances/:instance_id',
  operationId: 'UpdateInstance',
  summary: 'Modify an instance: name and description at once, a new port as task UpdatePort',
  tags: ['instances'],
  body: {
    type: 'object',
    properties: { name: INSTANCE_NAME, description: { type: 'string', maxLength: 1024 }, port: PORT, instance_backup_policy: BACKUP_POLICY_SCHEMA },
  },
  reply: { status: 204 },
  handle: async ({ params, body: b, operable, start, rename, backupPolicies }) => {
    const instance = await operable(params.instance_id);
    // Checked before anything of the request is applied (records.md §1).
    const policy = b.instance_backup_policy && (await backupPolicies.check(instance.id, b.instance_backup_policy));
    const moves = b.port !== undefined && b.port !== instance.port;
    if (moves) {
      if (!instance.managed) throw Errors.badParam('port', 'the port of an attached Redis is changed by its owner.');
      if (!(await isPortFree(b.port!))) throw Errors.badParam('port', `port ${b.port} is already in use on this host.`);
      await start(updatePort, instance, {
        params: { port: b.port }, state: { newPort: b.port! },
        details: { old_port: instance.port, new_port: b.port },
      });
    }
    if (b.name !== undefined || b.description !== undefined) await rename(instance, { name: b.name, description: b.description });
    if (policy) await backupPolicies.save(instance.id, policy);
  },
};

export default { operations: [updatePort], endpoints: [updateInstance] } satisfies OperationModule;
