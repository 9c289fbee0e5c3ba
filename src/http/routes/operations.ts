/**
 * The requests that start operations, one route per endpoint of the operation registry: the
 * endpoint brings its schema, operationId and handler; this plugin adds authentication config,
 * the error responses and the reply. No domain rule lives here.
 */
import type { FastifyPluginAsync } from 'fastify';
import { ENDPOINTS } from '../../operations/registry.js';
import type { EndpointCall } from '../../operations/operation.js';
import type { InstanceService } from '../../instances/service.js';
import type { TaskService } from '../../tasks/service.js';
import type { BackupPolicies } from '../../records/backup-policy.js';
import { CHANGES, pathParams, responses } from '../schemas.js';

export const operationRoutes: FastifyPluginAsync<{ instances: InstanceService; tasks: TaskService; policies: BackupPolicies }> = async (app, { instances, tasks, policies }) => {
  for (const e of ENDPOINTS) {
    const ids = [...e.url.matchAll(/:([a-z_]+)/g)].map((m) => m[1] as 'instance_id');
    app.route<{ Params: Record<string, string>; Body: unknown }>({
      method: e.method,
      url: e.url,
      config: CHANGES,
      schema: {
        summary: e.summary, tags: e.tags, operationId: e.operationId,
        params: pathParams('project_id', ...ids),
        ...(e.body ? { body: e.body } : {}),
        response: responses(e.reply.status === 200 ? { 200: e.reply.schema } : { 204: { type: 'null' } }),
      },
      handler: async (req, reply) => {
        const projectId = req.params.project_id;
        const call: EndpointCall<unknown> = {
          projectId,
          params: req.params,
          body: req.body ?? {},
          actor: req.caller,
          operable: (id) => instances.operable(projectId, id),
          start: (op, instance, plan) => tasks.start(op, instance, plan, req.caller),
          modify: (instance, change) => instances.modify(instance, change),
          checkPort: (port) => instances.checkPortAvailable(port),
          backupPolicies: policies,
        };
        const out = await e.handle(call as EndpointCall<never>);
        return e.reply.status === 204 ? reply.code(204).send() : out;
      },
    });
  }
};
