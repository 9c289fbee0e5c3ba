/**
 * PUT /v2/{project_id}/instances/status: restart, soft restart or flush one or more instances,
 * each a background task (restartInstance, softRestartInstance, flushInstance). restartInstance
 * also brings in renamed commands (port.ts starts it for `rename_commands`).
 */
import { Errors, NodeDown } from '../errors.js';
import { LeaseLost, StepFailure } from '../engine/operation.js';
import { backgroundSave } from '../redis/persistence.js';
import { flushAll, ping } from '../redis/commands.js';
import type { InstanceRecord } from '../instances/records.js';
import { INSTANCE_ID } from '../instances/schemas.js';
import type { RenameCommands } from '../instances/rename-commands.js';
import type { Endpoint, InstanceOperation, OperationModule, OpRun } from './operation.js';

type NoState = Record<string, never>;

export interface RestartState {
  /** Set by PUT …/instances/{id} `rename_commands`: the renames the nodes start with from now on. */
  renameCommands?: RenameCommands;
}

const restartOperation = (name: string): InstanceOperation<RestartState> => ({
  name,
  busy: { code: 'DCS.4111', what: 'restarting' },
  steps: [
    {
      name: 'Stop and start the Redis processes',
      run: async (x) => {
        const { renameCommands } = x.state;
        const i0 = await x.instance();
        if (renameCommands) await rewriteAofs(x, i0);
        const i = await x.save(i0, renameCommands ? { status: 'RESTARTING', extraKeys: { rename_commands: renameCommands } } : { status: 'RESTARTING' });
        await x.processes.restart(i);
      },
    },
    {
      name: 'Check that Redis answers',
      run: async (x) => {
        if (!(await ping(x.target(await x.instance())))) throw new StepFailure('DCS.5000', 'Redis does not answer after the restart.');
      },
    },
  ],
  onSuccess: async (x) => void (await x.save(await x.instance(), { status: 'RUNNING' })),
  onFailure: (x) => x.settleIfPresent(),
});

/**
 * Before new command names: every node that answers rewrites its AOF. Redis logs a command (a
 * FLUSHALL, say) under the name it was called by and replays the log at start-up, so a name the
 * restarted server no longer knows would stop it loading its data; a rewritten AOF holds only
 * the data. A node that cannot rewrite fails the step before any name changes.
 */
async function rewriteAofs(x: OpRun<RestartState>, i: InstanceRecord): Promise<void> {
  for (const n of i.nodes) {
    const t = x.nodeTarget(i, n);
    if (!(await ping(t))) continue; // a stopped node is started from its files as they are
    try {
      await backgroundSave(t, 'aof', x.signal);
    } catch (e) {
      if (e instanceof LeaseLost || x.signal.aborted) throw e;
      throw new StepFailure('DCS.5000', `The AOF of ${n.name} could not be rewritten before the commands were renamed: ${(e as Error).message}`);
    }
  }
}

export const restartInstance = restartOperation('restartInstance');
export const softRestartInstance = restartOperation('softRestartInstance');

export const flushInstance: InstanceOperation<NoState> = {
  name: 'flushInstance',
  busy: { code: 'DCS.4026', what: 'being flushed' },
  steps: [
    { name: 'Flush all databases', run: async (x) => flushAll(x.target(await x.instance())) },
    {
      // FLUSHALL is atomic: once it answered, every key of that moment is gone. Keys found now
      // were written since by clients — their data, not a failed flush (a flush while clients
      // write always meets some).
      name: 'Check that Redis answers after the flush',
      run: async (x) => {
        if (!(await ping(x.target(await x.instance())))) throw new StepFailure('DCS.5000', 'Redis does not answer after the flush.');
      },
    },
  ],
  onFailure: (x) => x.settleIfPresent(),
};

export type InstanceAction = 'restart' | 'soft_restart' | 'flush';

export interface InstanceStatusRequest {
  instances: string[];
  action: InstanceAction;
}

const OPERATION_OF: Record<InstanceAction, InstanceOperation<RestartState | NoState>> = {
  restart: restartInstance,
  soft_restart: softRestartInstance,
  flush: flushInstance,
};

const changeStatus: Endpoint<InstanceStatusRequest> = {
  method: 'PUT',
  url: '/instances/status',
  operationId: 'BatchRestartOrFlushInstances',
  summary: 'Restart, soft-restart or flush instances (each becomes a background task)',
  tags: ['operations'],
  body: {
    type: 'object',
    required: ['instances', 'action'],
    properties: {
      instances: { type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: INSTANCE_ID },
      action: { type: 'string', enum: ['restart', 'soft_restart', 'flush'] },
    },
  },
  reply: {
    status: 200,
    schema: {
      type: 'object',
      required: ['results'],
      properties: {
        results: {
          type: 'array',
          items: {
            type: 'object',
            required: ['instance', 'result'],
            properties: { instance: { type: 'string' }, result: { type: 'string', enum: ['success', 'failed'] } },
          },
        },
      },
    },
  },
  /**
   * Every instance is checked first, so a refused request starts nothing; then one busy instance
   * among several is reported `failed`, while a single busy instance gets its state code. An
   * instance whose node is down (DCS.4049) is busy in that sense: among several it is `failed`,
   * and the others still run (one node's outage must not stop operations on every other's).
   */
  handle: async ({ body, operable, start }) => {
    const { action } = body;
    const several = body.instances.length > 1;
    const checked: (InstanceRecord | { down: string })[] = [];
    for (const id of body.instances) {
      try {
        checked.push(await operable(id));
      } catch (e) {
        if (several && e instanceof NodeDown) checked.push({ down: id });
        else throw e;
      }
    }
    const instances = checked.filter((c): c is InstanceRecord => !('down' in c));
    if (action !== 'flush' && instances.some((i) => !i.managed)) {
      throw Errors.badParam('action', `${action} applies to managed instances only; an attached Redis is restarted by its owner.`);
    }
    const results = [];
    for (const c of checked) {
      if ('down' in c) {
        results.push({ instance: c.down, result: 'failed' as const });
        continue;
      }
      try {
        await start(OPERATION_OF[action], c, { params: { action, instances: [c.id] }, state: {} });
        results.push({ instance: c.id, result: 'success' as const });
      } catch (e) {
        if (!several) throw e;
        results.push({ instance: c.id, result: 'failed' as const });
      }
    }
    return { results };
  },
};

export default {
  operations: [restartInstance, softRestartInstance, flushInstance],
  endpoints: [changeStatus],
} satisfies OperationModule;
