/** Instance routes: create, list, show, delete. The operations on instances are in operations.ts. */
import type { FastifyPluginAsync } from 'fastify';
import type { InstanceService, CreateInstance } from '../../instances/service.js';
import { ENGINE_VERSIONS } from '../../instances/rules.js';
import { CAPACITY_GB, INSTANCE_NAME, PORT } from '../../instances/schemas.js';
import { INSTANCE, complete, pathParams, responses, READS, CHANGES } from '../schemas.js';
import { instanceView } from '../views.js';

type P = { project_id: string; instance_id: string };

const CREATE_BODY = {
  type: 'object',
  required: ['name', 'engine', 'engine_version', 'capacity'],
  properties: {
    name: INSTANCE_NAME,
    engine: { type: 'string', enum: ['Redis'] },
    engine_version: { type: 'string', enum: ENGINE_VERSIONS },
    capacity: CAPACITY_GB,
    password: { type: 'string', maxLength: 64 },
    no_password_access: { type: 'boolean' },
    port: PORT,
    redis_url: { type: 'string', maxLength: 1024, pattern: '^rediss?://', description: 'Addition: attach an existing Redis instead of starting one' },
    spec_code: { type: 'string', maxLength: 128 },
    description: { type: 'string', maxLength: 1024 },
  },
} as const;

export const instanceRoutes: FastifyPluginAsync<{ instances: InstanceService }> = async (app, { instances }) => {
  app.post<{ Params: P; Body: CreateInstance }>('/instances', {
    config: CHANGES,
    schema: {
      summary: 'Create an instance (a managed redis-server, or an attached Redis with redis_url)', operationId: 'CreateInstance', tags: ['instances'],
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

  app.get<{ Params: P }>('/instances', {
    config: READS,
    schema: {
      summary: 'List instances', operationId: 'ListInstances', tags: ['instances'], params: pathParams('project_id'),
      response: responses({ 200: complete({ type: 'object', properties: { instance_num: { type: 'integer' }, instances: { type: 'array', items: INSTANCE } } }) }),
    },
  }, async (req) => {
    const list = await instances.list(req.params.project_id);
    return { instance_num: list.length, instances: list.map(instanceView) };
  });

  app.get<{ Params: P }>('/instances/:instance_id', {
    config: READS,
    schema: { summary: 'Show an instance', operationId: 'ShowInstance', tags: ['instances'], params: pathParams('project_id', 'instance_id'), response: responses({ 200: INSTANCE }) },
  }, async (req) => instanceView(await instances.get(req.params.project_id, req.params.instance_id)));

  app.delete<{ Params: P }>('/instances/:instance_id', {
    config: CHANGES,
    schema: {
      summary: 'Delete an instance (stops its Redis and removes its files; its finished tasks stay in the task centre)', operationId: 'DeleteSingleInstance', tags: ['instances'],
      params: pathParams('project_id', 'instance_id'), response: responses({ 204: { type: 'null' } }),
    },
  }, async (req, reply) => {
    await instances.delete(req.params.project_id, req.params.instance_id);
    return reply.code(204).send();
  });
};
