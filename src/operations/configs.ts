/**
 * PUT /v2/{project_id}/instances/{id}/configs: the `modifyConfigs` task. CONFIG SET on every node;
 * the values are kept with the instance and re-applied after every start.
 */
import { Errors } from '../errors.js';
import { configSet } from '../redis/commands.js';
import { checkConfigChanges, type ConfigChange } from '../instances/rules.js';
import { JOB_ACCEPTED, type Endpoint, type EndpointCall, type InstanceOperation, type OperationModule, type OpRun } from './operation.js';

interface ConfigsState {
  /** Parameter name → value, checked against the rules before the task was created. */
  changes: Record<string, string>;
}

/** CONFIG SET on every node; run again when recording, as a restart in between loses it. */
async function applyConfigs(x: OpRun<ConfigsState>) {
  const i = await x.instance();
  for (const t of x.allTargets(i)) for (const [name, value] of Object.entries(x.state.changes)) await configSet(t, name, value);
  return i;
}

export const modifyConfigs: InstanceOperation<ConfigsState> = {
  name: 'modifyConfigs',
  busy: { code: 'DCS.4114', what: 'being configured' },
  steps: [
    { name: 'Apply the configuration', run: async (x) => void (await applyConfigs(x)) },
    {
      name: 'Record the configuration',
      run: async (x) => {
        const i = await applyConfigs(x);
        const stored = (i.extra.configs ?? {}) as Record<string, string>;
        await x.save(i, { extraKeys: { configs: { ...stored, ...x.state.changes } } });
      },
    },
  ],
  onFailure: (x) => x.settleIfPresent(),
};

export interface ModifyConfigsRequest {
  redis_config: ConfigChange[];
}

/** Checks the request and starts modifyConfigs: shared by the synchronous and the async route. */
async function startModifyConfigs({ params, body, operable, start }: EndpointCall<ModifyConfigsRequest>) {
  const changes = body.redis_config;
  const names = changes.map((c) => c.param_name);
  if (new Set(names).size !== names.length) throw Errors.badParam('redis_config', 'a parameter appears more than once.');
  const instance = await operable(params.instance_id);
  checkConfigChanges(changes);
  const redis_config = changes.map(({ param_id, param_name, param_value }) => ({ param_id, param_name, param_value }));
  return start(modifyConfigs, instance, {
    params: { redis_config },
    details: { updated_config_length: changes.length },
    state: { changes: Object.fromEntries(changes.map((c) => [c.param_name, c.param_value])) },
  });
}

const CONFIGS_BODY = {
  type: 'object',
  required: ['redis_config'],
  properties: {
    redis_config: {
      type: 'array', minItems: 1, maxItems: 100,
      items: {
        type: 'object',
        required: ['param_name', 'param_value'],
        properties: { param_id: { type: 'string', maxLength: 64 }, param_name: { type: 'string', maxLength: 64 }, param_value: { type: 'string', maxLength: 1024 } },
      },
    },
  },
};

const updateConfigurations: Endpoint<ModifyConfigsRequest> = {
  method: 'PUT',
  url: '/instances/:instance_id/configs',
  operationId: 'UpdateConfigurations',
  summary: 'Change configuration parameters (task "modifyConfigs")',
  tags: ['operations'],
  body: CONFIGS_BODY,
  reply: { status: 204 },
  handle: async (call) => void (await startModifyConfigs(call)),
};

/** PUT …/async-configs (automation.md §2): the same checks and task, answered with its job id. */
const updateInstanceConfig: Endpoint<ModifyConfigsRequest> = {
  method: 'PUT',
  url: '/instances/:instance_id/async-configs',
  operationId: 'UpdateInstanceConfig',
  summary: 'Change configuration parameters asynchronously (task "modifyConfigs", answered with its job id)',
  tags: ['operations'],
  body: CONFIGS_BODY,
  reply: { status: 200, schema: JOB_ACCEPTED },
  handle: async (call) => ({ job_id: (await startModifyConfigs(call)).id }),
};

export default { operations: [modifyConfigs], endpoints: [updateConfigurations, updateInstanceConfig] } satisfies OperationModule;
