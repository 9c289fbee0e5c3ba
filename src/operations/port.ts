/**
 * PUT /v2/{project_id}/instances/{id}: name, description, maintenance window, security group and the automatic backup
 * policy change at once; a new port is the
 * UpdatePort task — the master moves to the new port (the old one closes) and replicas follow; a change of
 * `rename_commands` is a restartInstance task, since renames take effect when redis-server starts (automation.md §3.5).
 */
import { Errors } from '../errors.js';
import { StepFailure } from '../engine/operation.js';
import { ping, withRedis } from '../redis/commands.js';
import { masterOf } from '../instances/runtime.js';
import { INSTANCE_NAME, MAINTAIN_TIME, PORT } from '../instances/schemas.js';
import { checkMaintainWindow } from '../instances/rules.js';
import type { InstanceRecordChange } from '../instances/service.js';
import type { Endpoint, InstanceOperation, OperationModule } from './operation.js';
import { BACKUP_POLICY_SCHEMA, type BackupPolicyBody } from '../records/backup-policy.js';
import { changedCommands, checkNamesFree, commandNamesOf, parseRenames, renamesOf } from '../instances/rename-commands.js';
import { restartInstance } from './instance-status.js';
import { RESERVED_PORT_KEY } from '../store/types.js';

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
          // The port moves from the claim (made with the task) to the node, in one write.
          i = await x.save(i, {
            port: newPort, nodes: i.nodes.map((n) => (n.name === master.name ? { ...n, port: newPort } : n)), extraKeys: { [RESERVED_PORT_KEY]: null },
          });
        }
        // Our own redis-server, not whatever answers on the port.
        if (!x.processes.isUp(i)) await x.processes.startNode(i, masterOf(i));
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
        if (!x.processes.isUp(i) || !(await ping(x.target(i)))) throw new StepFailure('DCS.5000', `Redis does not answer on port ${i.port}.`);
      },
    },
  ],
  onFailure: async (x) => {
    // A claim the move did not take up is let go.
    const i = await x.instance().catch(() => null);
    if (i && i.extra[RESERVED_PORT_KEY] != null) await x.save(i, { extraKeys: { [RESERVED_PORT_KEY]: null } });
    return x.settleIfPresent();
  },
};

export interface ModifyInstanceRequest extends InstanceRecordChange {
  port?: number;
  instance_backup_policy?: BackupPolicyBody;
  /** RenameCommandResp: command name → new name; checked in rename-commands.ts. */
  rename_commands?: unknown;
}

const updateInstance: Endpoint<ModifyInstanceRequest> = {
  method: 'PUT',
  url: '/instances/:instance_id',
  operationId: 'UpdateInstance',
  summary: 'Modify an instance: name, description, maintenance window and security group at once, a new port as task UpdatePort, renamed commands as task restartInstance',
  tags: ['instances'],
  body: {
    type: 'object',
    properties: { name: INSTANCE_NAME, description: { type: 'string', maxLength: 1024 }, port: PORT, instance_backup_policy: BACKUP_POLICY_SCHEMA,
      maintain_begin: MAINTAIN_TIME, maintain_end: MAINTAIN_TIME, security_group_id: { type: 'string', maxLength: 128 },
      rename_commands: { type: 'object', description: 'RenameCommandResp: command, keys, flushdb, flushall, hgetall, scan, hscan, sscan, zscan → new name' },
    },
  },
  reply: { status: 204 },
  handle: async ({ params, body: b, operable, start, modify, checkPort, backupPolicies }) => {
    const instance = await operable(params.instance_id);
    // Checked before anything of the request is applied (records.md §1).
    checkMaintainWindow(b.maintain_begin, b.maintain_end);
    const policy = b.instance_backup_policy && (await backupPolicies.check(instance.id, b.instance_backup_policy));
    const moves = b.port !== undefined && b.port !== instance.port;
    if (moves) {
      if (!instance.managed) throw Errors.badParam('port', 'the port of an attached Redis is changed by its owner.');
      const own = instance.nodes.find((n) => n.port === b.port);
      if (own) throw Errors.badParam('port', `port ${b.port} is this instance's ${own.name} (a ${own.role}).`);
      // The same change sent again while it runs holds its own claim: the task's busy code answers
      // it (start, below), which a client waits on and retries, not a refusal of the port.
      const claimed = instance.extra[RESERVED_PORT_KEY];
      if (claimed == null || Number(claimed) !== b.port) await checkPort(b.port!);
    }
    const renames = b.rename_commands !== undefined ? parseRenames(b.rename_commands) : undefined;
    const renamed = renames ? changedCommands(renamesOf(instance), renames) : [];
    if (renamed.length) {
      if (!instance.managed) throw Errors.badParam('rename_commands', 'the commands of an attached Redis are renamed by its owner.');
      if (moves) throw Errors.badParam('rename_commands', 'a port change and renamed commands are two tasks: send them one at a time.');
      await checkNamesFree({ host: instance.host, port: instance.port, password: instance.password, ...commandNamesOf(instance) }, renames!);
    }
    if (moves) {
      await start(updatePort, instance, {
        params: { port: b.port }, state: { newPort: b.port! }, claimPort: b.port,
        details: { old_port: instance.port, new_port: b.port },
      });
    }
    if (renamed.length) {
      // The new names stay out of params and details: DCS shows only which commands were renamed.
      await start(restartInstance, instance, {
        params: { rename_commands: renamed }, state: { renameCommands: renames! },
        details: { rename_commands: renamed },
      });
    }
    await modify(instance, {
      name: b.name, description: b.description, maintain_begin: b.maintain_begin, maintain_end: b.maintain_end, security_group_id: b.security_group_id,
    });
    if (policy) await backupPolicies.save(instance.id, policy);
  },
};

export default { operations: [updatePort], endpoints: [updateInstance] } satisfies OperationModule;
