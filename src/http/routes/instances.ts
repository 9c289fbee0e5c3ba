/** Instance routes and the DCS operations that start background tasks. */
import type { FastifyInstance } from 'fastify';
import type { InstanceService, CreateInstance, InstanceAction, ModifyBody, ResizeBody } from '../../instances/service.js';
import { ENGINE_VERSIONS } from '../../instances/rules.js';
import { Errors } from '../../errors.js';
import { INSTANCE, INSTANCE_ID, complete, pathParams, responses, READS, CHANGES } from '../schemas.js';
import { instanceView } from '../views.js';

type P = { project_id: string; instance_id: string };

const CREATE_BODY = {
  type: 'object',
  required: ['name', 'engine', 'engine_version', 'capacity'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{3,63}$', description: '4-64 characters, starts with a letter; letters, digits, - and _' },
    engine: { type: 'string', enum: ['Redis'] },
    engine_version: { type: 'string', enum: ENGINE_VERSIONS },
    capacity: { type: 'number', exclusiveMinimum: 0, maximum: 1024, description: 'GB' },
    password: { type: 'string', maxLength: 64 },
    no_password_access: { type: 'boolean' },
    port: { type: 'integer', minimum: 1024, maximum: 65535 },
    redis_url: { type: 'string', maxLength: 1024, pattern: '^rediss?://', description: 'Addition: attach an existing Redis instead of starting one' },
    spec_code: { type: 'string', maxLength: 128 },
    description: { type: 'string', maxLength: 1024 },
  },
} as const;

const TASK_ACCEPTED = complete({ type: 'object', properties: { job_id: { type: 'string', description: 'The task id' } } } as const);

const STATUS_BODY = {
  type: 'object',
  required: ['instances', 'action'],
  properties: {
    instances: { type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: INSTANCE_ID },
    action: { type: 'string', enum: ['restart', 'soft_restart', 'flush'] },
  },
} as const;

const PASSWORD_BODY = {
  type: 'object',
  required: ['new_password'],
  properties: { old_password: { type: ['string', 'null'], maxLength: 64 }, new_password: { type: 'string', maxLength: 64 } },
} as const;

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
} as const;

const RESIZE_BODY = {
  type: 'object',
  properties: {
    spec_code: { type: 'string', maxLength: 128 },
    new_capacity: { type: 'number', exclusiveMinimum: 0, maximum: 1024, description: 'GB (EXTEND)' },
    change_type: { type: 'string', enum: ['createReplication', 'deleteReplication'] },
    node_list: { type: 'array', maxItems: 5, uniqueItems: true, items: { type: 'string', pattern: '^node-[0-9]{1,2}$' } },
    replica_num: { type: 'integer', minimum: 1, maximum: 5, description: 'Addition: replicas to add (default 1)' },
  },
} as const;

const MODIFY_BODY = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{3,63}$' },
    description: { type: 'string', maxLength: 1024 },
    port: { type: 'integer', minimum: 1024, maximum: 65535 },
  },
} as const;

export function instanceRoutes(app: FastifyInstance, instances: InstanceService): void {
  app.post<{ Params: P; Body: CreateInstance }>('/v2/:project_id/instances', {
    config: CHANGES,
    schema: {
      summary: 'Create an instance (a managed redis-server, or an attached Redis with redis_url)', tags: ['instances'],
      params: pathParams('project_id'), body: CREATE_BODY,
      response: responses({
        200: complete({
          type: 'object',
          properties: {
            order_id: { type: 'null' },
            instances: { type: 'array', items: complete({ type: 'object', properties: { instance_id: { type: 'string' }, instance_name: { type: 'string' } } }) },
          },
        }),
      }),
    },
  }, async (req) => {
    const i = await instances.create(req.params.project_id, req.body);
    return { order_id: null, instances: [{ instance_id: i.id, instance_name: i.name }] };
  });

  app.get<{ Params: P }>('/v2/:project_id/instances', {
    config: READS,
    schema: {
      summary: 'List instances', tags: ['instances'], params: pathParams('project_id'),
      response: responses({ 200: complete({ type: 'object', properties: { instance_num: { type: 'integer' }, instances: { type: 'array', items: INSTANCE } } }) }),
    },
  }, async (req) => {
    const list = await instances.list(req.params.project_id);
    return { instance_num: list.length, instances: list.map(instanceView) };
  });

  app.get<{ Params: P }>('/v2/:project_id/instances/:instance_id', {
    config: READS,
    schema: { summary: 'Show an instance', tags: ['instances'], params: pathParams('project_id', 'instance_id'), response: responses({ 200: INSTANCE }) },
  }, async (req) => instanceView(await instances.get(req.params.project_id, req.params.instance_id)));

  app.delete<{ Params: P }>('/v2/:project_id/instances/:instance_id', {
    config: CHANGES,
    schema: {
      summary: 'Delete an instance (stops its Redis and removes its files; its finished tasks stay in the task centre)', tags: ['instances'],
      params: pathParams('project_id', 'instance_id'), response: responses({ 204: { type: 'null' } }),
    },
  }, async (req, reply) => {
    await instances.delete(req.params.project_id, req.params.instance_id);
    return reply.code(204).send();
  });

  app.post<{ Params: P; Body: ResizeBody }>('/v2/:project_id/instances/:instance_id/resize', {
    config: CHANGES,
    schema: {
      summary: 'Resize (task EXTEND) or add/remove replicas (AddReplica / DelReplica)', tags: ['operations'],
      params: pathParams('project_id', 'instance_id'), body: RESIZE_BODY, response: responses({ 200: TASK_ACCEPTED }),
    },
  }, async (req) => {
    const t = await instances.resize(req.params.project_id, req.params.instance_id, req.body ?? {}, req.caller);
    return { job_id: t.id };
  });

  app.post<{ Params: P }>('/v2/:project_id/instances/:instance_id/swap', {
    config: CHANGES,
    schema: {
      summary: 'Master/standby switchover (task masterStandbySwapJob)', tags: ['operations'],
      params: pathParams('project_id', 'instance_id'), response: responses({ 200: TASK_ACCEPTED }),
    },
  }, async (req) => {
    const t = await instances.swap(req.params.project_id, req.params.instance_id, req.caller);
    return { job_id: t.id };
  });

  app.put<{ Params: P; Body: ModifyBody }>('/v2/:project_id/instances/:instance_id', {
    config: CHANGES,
    schema: {
      summary: 'Modify an instance: name and description at once, a new port as task UpdatePort', tags: ['instances'],
      params: pathParams('project_id', 'instance_id'), body: MODIFY_BODY, response: responses({ 204: { type: 'null' } }),
    },
  }, async (req, reply) => {
    await instances.modify(req.params.project_id, req.params.instance_id, req.body ?? {}, req.caller);
    return reply.code(204).send();
  });

  app.put<{ Params: P; Body: { instances: string[]; action: InstanceAction } }>('/v2/:project_id/instances/status', {
    config: CHANGES,
    schema: {
      summary: 'Restart, soft-restart or flush instances (each becomes a background task)', tags: ['operations'],
      params: pathParams('project_id'), body: STATUS_BODY,
      response: responses({
        200: complete({
          type: 'object',
          properties: {
            results: {
              type: 'array',
              items: complete({ type: 'object', properties: { instance: { type: 'string' }, result: { type: 'string', enum: ['success', 'failed'] } } }),
            },
          },
        }),
      }),
    },
  }, async (req) => ({ results: await instances.act(req.params.project_id, req.body.instances, req.body.action, req.caller) }));

  app.put<{ Params: P; Body: { old_password?: string | null; new_password: string } }>('/v2/:project_id/instances/:instance_id/password', {
    config: CHANGES,
    schema: {
      summary: 'Change the instance password (task "modify")', tags: ['operations'],
      params: pathParams('project_id', 'instance_id'), body: PASSWORD_BODY,
      response: responses({
        200: complete({
          type: 'object',
          properties: {
            result: { type: 'string' }, message: { type: 'string' }, lock_time: { type: 'string' },
            lock_time_left: { type: 'string' }, retry_times_left: { type: 'string' },
          },
        }),
      }),
    },
  }, async (req) => {
    await instances.changePassword(req.params.project_id, req.params.instance_id, req.body.old_password ?? null, req.body.new_password, req.caller);
    return { result: 'success', message: 'The password change was accepted; the modify task applies it.', lock_time: '0', lock_time_left: '0', retry_times_left: '5' };
  });

  app.put<{ Params: P; Body: { redis_config: { param_name: string; param_value: string }[] } }>('/v2/:project_id/instances/:instance_id/configs', {
    config: CHANGES,
    schema: {
      summary: 'Change configuration parameters (task "modifyConfigs")', tags: ['operations'],
      params: pathParams('project_id', 'instance_id'), body: CONFIGS_BODY, response: responses({ 204: { type: 'null' } }),
    },
  }, async (req, reply) => {
    const names = req.body.redis_config.map((c) => c.param_name);
    if (new Set(names).size !== names.length) throw Errors.badParam('redis_config', 'a parameter appears more than once.');
    await instances.modifyConfigs(req.params.project_id, req.params.instance_id, req.body.redis_config, req.caller);
    return reply.code(204).send();
  });
}
