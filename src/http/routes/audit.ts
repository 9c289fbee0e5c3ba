/**
 * GET /v2/{project_id}/task-audit: the deletion audit, read-only and paged like the task lists
 * (an addition to the DCS API). Signed like every DCS route.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TaskAuditLog } from '../../tasks/audit.js';
import type { AuditRecord } from '../../tasks/records.js';
import { taskWindow } from '../query.js';
import { Errors } from '../../errors.js';
import { PROJECT_ID, READS, complete, pathParams, responses } from '../schemas.js';

const PROJECT_ID_RE = new RegExp(PROJECT_ID.pattern);

const AUDIT = complete({
  type: 'object',
  properties: {
    task_id: { type: 'string' },
    instance_id: { type: 'string' },
    task_name: { type: 'string' },
    last_status: { type: 'string', description: 'the status of the task when it was deleted' },
    user_id: { type: 'string', description: 'who deleted it (a service account for retention)' },
    user_name: { type: 'string' },
    message: { type: 'string', description: 'the message given with the delete, "" when none' },
    deleted_at: { type: 'string', description: 'ISO-8601 UTC' },
  },
});

const PAGE_QUERY = {
  type: 'object',
  properties: {
    offset: { type: 'integer', minimum: 0, description: 'Offset, >= 0 (default 0)' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'Page size, 1-1000 (default 10)' },
  },
} as const;

export const auditView = (a: AuditRecord) => ({
  task_id: a.taskId, instance_id: a.instanceId, task_name: a.taskName, last_status: a.lastStatus,
  user_id: a.actorId, user_name: a.actorName, message: a.message ?? '', deleted_at: new Date(a.deletedAt).toISOString(),
});

export const auditRoutes: FastifyPluginAsync<{ audit: TaskAuditLog }> = async (app, { audit }) => {
  app.get<{ Params: { project_id: string }; Querystring: Record<string, string | undefined> }>('/task-audit', {
    config: READS,
    schema: {
      operationId: 'ListTaskAudit',
      summary: 'List the deletion audit of the project (who deleted which task), newest first', tags: ['tasks'],
      params: pathParams('project_id'),
      // Documented as integers; parsed by taskWindow with the task lists' bounds and messages.
      querystring: PAGE_QUERY,
      response: responses({ 200: complete({ type: 'object', properties: { count: { type: 'string' }, audits: { type: 'array', items: AUDIT } } }) }),
    },
    // Checked below rather than by Ajv, which would refuse the integers as query strings: the
    // task lists' own parser gives the same DCS.4800 message naming the parameter.
    validatorCompiler: () => () => true,
  }, async (req) => {
    if (!PROJECT_ID_RE.test(req.params.project_id)) throw Errors.badProjectId();
    const { offset, limit } = taskWindow({ offset: req.query.offset, limit: req.query.limit });
    const { total, records } = await audit.page(req.params.project_id, offset, limit);
    return { count: String(total), audits: records.map(auditView) };
  });
};
