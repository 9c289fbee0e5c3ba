/** Instance routes: create, list, show, delete. The operations on instances are in operations.ts. */
import type { FastifyPluginAsync } from 'fastify';
import { MAX_TAGS, type InstanceService, type CreateInstance } from '../../instances/service.js';
import { ENGINE_VERSIONS } from '../../instances/rules.js';
import { CAPACITY_GB, INSTANCE_NAME, MAINTAIN_TIME, PORT } from '../../instances/schemas.js';
import { INSTANCE, complete, pathParams, responses, READS, CHANGES } from '../schemas.js';
import { instanceView } from '../views.js';
import { instanceQuery } from '../query.js';
import { BACKUP_POLICY_SCHEMA, BACKUP_POLICY_VIEW, type BackupPolicies, type BackupPolicyBody } from '../../records/backup-policy.js';

const INSTANCE_LIST_QUERY = {
  type: 'object',
  properties: Object.fromEntries(
    ['instance_id', 'name', 'name_equal', 'include_failure', 'include_delete', 'status', 'ip', 'tags', 'capacity', 'offset', 'limit'].map((n) => [n, { type: 'string' }]),
  ),
} as const;

type P = { project_id: string; instance_id: string };

const TAGS = {
  type: 'array', maxItems: MAX_TAGS,
  items: { type: 'object', required: ['key'], properties: { key: { type: 'string', minLength: 1, maxLength: 128 }, value: { type: 'string', maxLength: 255 } } },
} as const;

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
    ...Object.fromEntries(['vpc_id', 'vpc_name', 'subnet_id', 'subnet_name', 'subnet_cidr', 'security_group_id', 'security_group_name',
      'enterprise_project_id', 'access_user'].map((n) => [n, { type: 'string', maxLength: 128 }])),
    maintain_begin: MAINTAIN_TIME,
    maintain_end: MAINTAIN_TIME,
    az_codes: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 64 } },
    instance_backup_policy: BACKUP_POLICY_SCHEMA,
    tags: TAGS,
  },
} as const;

/** CreateOrDeleteInstanceTags (BatchCreateOrDeleteTags): what the provider sends when tags change. */
const TAGS_ACTION_BODY = {
  type: 'object',
  required: ['action', 'tags'],
  properties: { action: { type: 'string', enum: ['create', 'delete'] }, tags: { ...TAGS, minItems: 1 } },
} as const;

/** ResourceTag (ShowTags) and Tag (ListTagsOfTenant). */
const TAG_VIEW = complete({ type: 'object', properties: { key: { type: 'string' }, value: { type: 'string' } } } as const);
const TENANT_TAG_VIEW = complete({ type: 'object', properties: { key: { type: 'string' }, values: { type: 'array', items: { type: 'string' } } } } as const);

/** ShowInstanceResponse: an instance with its automatic backup policy (records.md §1). */
const SHOWN_INSTANCE = complete({ type: 'object', properties: { ...INSTANCE.properties, instance_backup_policy: BACKUP_POLICY_VIEW } } as const);

export const instanceRoutes: FastifyPluginAsync<{ instances: InstanceService; policies: BackupPolicies }> = async (app, { instances, policies }) => {
  app.post<{ Params: P; Body: CreateInstance & { instance_backup_policy?: BackupPolicyBody } }>('/instances', {
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
    const policy = req.body.instance_backup_policy && (await policies.check(null, req.body.instance_backup_policy));
    const i = await instances.create(req.params.project_id, req.body, req.caller);
    if (policy) await policies.save(i.id, policy);
    return { order_id: null, instances: [{ instance_id: i.id, instance_name: i.name }] };
  });

  app.get<{ Params: P; Querystring: Record<string, string | undefined> }>('/instances', {
    config: READS,
    schema: {
      summary: 'List instances: filters, newest first, one page (offset past the end: an empty page)', operationId: 'ListInstances', tags: ['instances'],
      params: pathParams('project_id'), querystring: INSTANCE_LIST_QUERY,
      response: responses({ 200: complete({ type: 'object', properties: { instance_num: { type: 'integer' }, instances: { type: 'array', items: INSTANCE } } }) }),
    },
  }, async (req) => {
    const q = instanceQuery(req.query);
    const { total, page } = await instances.search(req.params.project_id, q.filter, q.offset, q.limit);
    const used = await Promise.all(page.map((s) => instances.usedMemoryMb(s.instance)));
    return { instance_num: total, instances: page.map((s, k) => instanceView(s, used[k])) };
  });

  app.get<{ Params: P }>('/instances/:instance_id', {
    config: READS,
    schema: {
      summary: 'Show an instance; `task` is the running background task, null when idle', operationId: 'ShowInstance', tags: ['instances'],
      params: pathParams('project_id', 'instance_id'), response: responses({ 200: SHOWN_INSTANCE }),
    },
  }, async (req) => {
    const s = await instances.show(req.params.project_id, req.params.instance_id);
    return { ...instanceView(s, await instances.usedMemoryMb(s.instance)), instance_backup_policy: await policies.view(req.params.project_id, s.instance.id) };
  });

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

  app.post<{ Params: P; Body: { action: 'create' | 'delete'; tags: { key: string; value?: string }[] } }>('/dcs/:instance_id/tags/action', {
    config: CHANGES,
    schema: {
      summary: 'Add tags (a key\'s value replaced) or remove them; no task', operationId: 'BatchCreateOrDeleteTags', tags: ['instances'],
      params: pathParams('project_id', 'instance_id'), body: TAGS_ACTION_BODY, response: responses({ 204: { type: 'null' } }),
    },
  }, async (req, reply) => {
    await instances.changeTags(req.params.project_id, req.params.instance_id, req.body.action, req.body.tags);
    return reply.code(204).send();
  });

  app.get<{ Params: P }>('/instances/:instance_id/tags', {
    config: READS,
    schema: {
      summary: 'The tags of an instance', operationId: 'ShowTags', tags: ['instances'],
      params: pathParams('project_id', 'instance_id'),
      response: responses({ 200: complete({ type: 'object', properties: { tags: { type: 'array', items: TAG_VIEW } } }) }),
    },
  }, async (req) => ({ tags: await instances.tags(req.params.project_id, req.params.instance_id) }));

  app.get<{ Params: P }>('/dcs/tags', {
    config: READS,
    schema: {
      summary: 'Every tag key of the project\'s instances with the values it has', operationId: 'ListTagsOfTenant', tags: ['instances'],
      params: pathParams('project_id'),
      response: responses({ 200: complete({ type: 'object', properties: { tags: { type: 'array', items: TENANT_TAG_VIEW } } }) }),
    },
  }, async (req) => ({ tags: await instances.tagsOfProject(req.params.project_id) }));
};
