/**
 * Data-migration routes (automation.md §4): create online and configure, create import, list,
 * show, stats, logs, stop, sync-stop, batch stop, batch restart, delete. Unknown migration ids
 * answer 400 DCS.4133 (the only "gone" code the Terraform provider understands); malformed ones
 * DCS.4070 through the task_id parameter schema. No rule lives here: MigrationService decides.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Errors } from '../../errors.js';
import type { ConfigureBody, CreateOnlineBody, CreateTaskBody, MigrationService } from '../../migrations/service.js';
import type { MigrationRecord } from '../../migrations/records.js';
import { taskWindow } from '../query.js';
import { CHANGES, READS, complete, pathParams, responses } from '../schemas.js';
import { logView, migrationListView, migrationView, statsView, type MigrationContext } from '../migration-views.js';

type P = { project_id: string; task_id: string };
type Q = Record<string, string | undefined>;

const S = { type: 'string' } as const;
const NS = { type: ['string', 'null'] } as const;
const TAGS = ['migrations'];

const ENDPOINT_BODY = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 }, addrs: { type: 'string', minLength: 1, maxLength: 256 }, password: { type: 'string', maxLength: 128 } },
} as const;
const METHOD = { type: 'string', enum: ['full_amount_migration', 'incremental_migration'] } as const;
/** "" is what the Terraform provider sends for an unset resume_mode (an Optional+Computed string): the default. */
const RESUME = { type: 'string', enum: ['auto', 'manual', ''], description: 'auto (default; also for "") or manual' } as const;
const ID_LIST = { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string' } } as const;

const ENDPOINT_VIEW = {
  type: ['object', 'null'],
  properties: {
    id: NS, name: NS, addrs: NS, ip: NS, port: NS, password: { type: 'null' }, task_status: { type: 'null' },
    proxy_multi_db: { type: 'boolean' }, db: { type: 'null' },
  },
} as const;

const MIGRATION = complete({
  type: 'object',
  properties: {
    task_id: S, task_name: S, description: S, status: S, migration_type: S, migration_method: S, ecs_tenant_private_ip: S,
    backup_files: { type: ['object', 'null'], additionalProperties: true }, network_type: { type: ['string', 'null'], enum: ['vpc', 'vpn', null] },
    source_instance: ENDPOINT_VIEW, target_instance: ENDPOINT_VIEW, created_at: S, updated_at: S, released_at: { type: 'null' },
    version: S, resume_mode: S, supported_features: { type: 'array', items: S }, tenant_vpc_id: S, tenant_subnet_id: S,
    tenant_security_group_id: S, bandwidth_limit_mb: NS, task_status: { type: 'null' },
  },
} as const);

const MIGRATION_LIST_ITEM = complete({
  type: 'object',
  properties: {
    task_id: S, task_name: S, status: S, migration_type: S, migration_method: S, ecs_tenant_private_ip: S, data_source: S,
    source_instance_name: S, source_instance_id: S, target_instance_addrs: S, target_instance_name: S, target_instance_id: S,
    created_at: S, description: S, source_instance_status: S, target_instance_status: S, source_instance_subnet_id: S,
    target_instance_subnet_id: S, source_instance_spec_code: S, target_instance_spec_code: S, error_message: S,
    released_at: { type: 'null' }, version: S, resume_mode: S, supported_features: { type: 'array', items: S },
  },
} as const);

const STARTED = complete({ type: 'object', properties: { id: S, name: S, status: S } } as const);
const BATCH_BODY = { type: 'object', required: ['migration_tasks'], properties: { migration_tasks: ID_LIST } } as const;
const BATCH_RESULT = complete({
  type: 'object',
  properties: {
    migration_tasks: {
      type: 'array',
      items: complete({ type: 'object', properties: { task_id: S, result: { type: 'string', enum: ['success', 'failed'] }, error_code: NS, error_msg: NS } } as const),
    },
  },
} as const);

export const migrationRoutes: FastifyPluginAsync<{ migrations: MigrationService; host: string }> = async (app, { migrations, host }) => {
  const context = async (m: MigrationRecord): Promise<MigrationContext> => {
    const [{ source, target }, sourceAddr, targetAddr] = await Promise.all([
      migrations.instancesOf(m), migrations.addressOf(m, 'source'), migrations.addressOf(m, 'target'),
    ]);
    return { source, target, sourceAddr, targetAddr, host };
  };
  const show = async (m: MigrationRecord) => migrationView(m, await context(m));
  const started = (m: MigrationRecord) => ({ id: m.id, name: m.name, status: m.status });

  app.post<{ Params: P; Body: CreateOnlineBody }>('/migration/instance', {
    config: CHANGES,
    schema: {
      summary: 'Create an online data-migration task (not yet configured)', operationId: 'CreateOnlineMigrationTask', tags: TAGS,
      params: pathParams('project_id'),
      body: {
        type: 'object', required: ['name', 'vpc_id', 'subnet_id', 'security_group_id'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 64 }, description: { type: 'string', maxLength: 1024 },
          vpc_id: S, subnet_id: S, security_group_id: S,
        },
      },
      response: responses({ 200: complete({ type: 'object', properties: { instance_id: S, job_id: S } } as const) }),
    },
  }, async (req) => migrations.createOnline(req.params.project_id, req.body, req.caller));

  app.post<{ Params: P; Body: ConfigureBody }>('/migration/:task_id/task', {
    config: CHANGES,
    schema: {
      summary: 'Configure an online migration and start it', operationId: 'SetOnlineMigrationTask', tags: TAGS,
      params: pathParams('project_id', 'task_id'),
      body: {
        type: 'object', required: ['migration_method', 'source_instance', 'target_instance'],
        properties: { migration_method: METHOD, resume_mode: RESUME, bandwidth_limit_mb: S, source_instance: ENDPOINT_BODY, target_instance: ENDPOINT_BODY },
      },
      response: responses({ 200: STARTED }),
    },
  }, async (req) => started(await migrations.configure(req.params.project_id, req.params.task_id, req.body, req.caller)));

  app.post<{ Params: P; Body: CreateTaskBody }>('/migration-task', {
    config: CHANGES,
    schema: {
      summary: 'Create an import (from RDB files) or an online migration in one call', operationId: 'CreateMigrationTask', tags: TAGS,
      params: pathParams('project_id'),
      body: {
        type: 'object', required: ['task_name', 'migration_type', 'migration_method', 'target_instance'],
        properties: {
          task_name: { type: 'string', minLength: 1, maxLength: 64 }, description: { type: 'string', maxLength: 1024 },
          migration_type: { type: 'string', enum: ['backupfile_import', 'online_migration'] }, migration_method: METHOD,
          network_type: { type: 'string', enum: ['vpc', 'vpn'] }, resume_mode: RESUME, bandwidth_limit_mb: S,
          backup_files: {
            type: 'object',
            properties: {
              file_source: S, bucket_name: S, backup_id: S,
              files: { type: 'array', maxItems: 100, items: { type: 'object', required: ['file_name'], properties: { file_name: S, size: S, update_at: S } } },
            },
          },
          source_instance: ENDPOINT_BODY, target_instance: ENDPOINT_BODY,
        },
      },
      response: responses({ 200: STARTED }),
    },
  }, async (req) => started(await migrations.createTask(req.params.project_id, req.body, req.caller)));

  app.get<{ Params: P; Querystring: Q }>('/migration-tasks', {
    config: READS,
    schema: {
      summary: 'List migration tasks, newest first', operationId: 'ListMigrationTask', tags: TAGS,
      params: pathParams('project_id'),
      querystring: { type: 'object', properties: { offset: S, limit: S, name: S } },
      response: responses({ 200: complete({ type: 'object', properties: { count: { type: 'integer' }, migration_tasks: { type: 'array', items: MIGRATION_LIST_ITEM } } } as const) }),
    },
  }, async (req) => {
    const { offset, limit } = taskWindow({ offset: req.query.offset, limit: req.query.limit });
    const { total, migrations: page, errors } = await migrations.list(req.params.project_id, req.query.name || undefined, offset, limit);
    const items = await Promise.all(page.map(async (m) => migrationListView(m, await context(m), errors.get(m.id))));
    return { count: total, migration_tasks: items };
  });

  app.delete<{ Params: P; Body: { task_id_list: string[] } }>('/migration-tasks/delete', {
    config: CHANGES,
    schema: {
      summary: 'Delete finished migration tasks (all or nothing)', operationId: 'DeleteMigrationTask', tags: TAGS,
      params: pathParams('project_id'),
      body: { type: 'object', required: ['task_id_list'], properties: { task_id_list: ID_LIST } },
      response: responses({ 200: complete({ type: 'object', properties: { task_id_list: { type: 'array', items: S } } } as const) }),
    },
  }, async (req) => ({ task_id_list: await migrations.delete(req.params.project_id, req.body.task_id_list, req.caller) }));

  app.get<{ Params: P }>('/migration-task/:task_id', {
    config: READS,
    schema: {
      summary: 'Show a migration task', operationId: 'ShowMigrationTask', tags: TAGS,
      params: pathParams('project_id', 'task_id'), response: responses({ 200: MIGRATION }),
    },
  }, async (req) => show(await migrations.get(req.params.project_id, req.params.task_id)));

  app.get<{ Params: P }>('/migration-task/:task_id/stats', {
    config: READS,
    schema: {
      summary: 'Live statistics of a migration task', operationId: 'ShowMigrationTaskStats', tags: TAGS,
      params: pathParams('project_id', 'task_id'),
      response: responses({
        200: complete({
          type: 'object',
          properties: { full_migration_progress: S, offset: S, source_dbsize: S, target_dbsize: S, target_input_kbps: S, target_ops: S, is_migrating: { type: 'boolean' } },
        } as const),
      }),
    },
  }, async (req) => statsView(await migrations.stats(req.params.project_id, req.params.task_id)));

  app.get<{ Params: P; Querystring: Q }>('/migration-task/:task_id/logs', {
    config: READS,
    schema: {
      summary: 'Logs of a migration task, newest first', operationId: 'ListMigrationTaskLogs', tags: TAGS,
      params: pathParams('project_id', 'task_id'),
      querystring: { type: 'object', properties: { offset: S, limit: S, log_level: S } },
      response: responses({
        200: complete({
          type: 'object',
          properties: {
            log_num: { type: 'integer' },
            migration_logs: {
              type: 'array',
              items: complete({ type: 'object', properties: { created_at: S, log_level: S, message: S, log_code: S, keyword: { type: 'array', items: S } } } as const),
            },
          },
        } as const),
      }),
    },
  }, async (req) => {
    const { offset, limit } = taskWindow({ offset: req.query.offset, limit: req.query.limit });
    const level = req.query.log_level;
    if (level !== undefined && level !== 'INFO' && level !== 'ERROR') throw Errors.badParam('log_level', 'must be INFO or ERROR.');
    const { total, logs } = await migrations.logs(req.params.project_id, req.params.task_id, level, offset, limit);
    return { log_num: total, migration_logs: logs.map(logView) };
  });

  app.post<{ Params: P }>('/migration-task/:task_id/stop', {
    config: CHANGES,
    schema: {
      summary: 'Stop a migration task (what was copied stays)', operationId: 'StopMigrationTask', tags: TAGS,
      params: pathParams('project_id', 'task_id'), response: responses({ 200: MIGRATION }),
    },
  }, async (req) => show(await migrations.stop(req.params.project_id, req.params.task_id)));

  app.post<{ Params: P }>('/migration-task/:task_id/sync-stop', {
    config: CHANGES,
    schema: {
      summary: 'End the incremental phase of a migration (the task is then SUCCESS)', operationId: 'StopMigrationTaskSync', tags: TAGS,
      params: pathParams('project_id', 'task_id'), response: responses({ 204: { type: 'null' } }),
    },
  }, async (req, reply) => {
    await migrations.syncStop(req.params.project_id, req.params.task_id);
    return reply.code(204).send();
  });

  app.post<{ Params: P; Body: { migration_tasks: string[] } }>('/migration-task/batch-stop', {
    config: CHANGES,
    schema: {
      summary: 'Stop several migration tasks', operationId: 'BatchStopMigrationTasks', tags: TAGS,
      params: pathParams('project_id'), body: BATCH_BODY, response: responses({ 200: BATCH_RESULT }),
    },
  }, async (req) => ({ migration_tasks: await migrations.batchStop(req.params.project_id, req.body.migration_tasks) }));

  app.post<{ Params: P; Body: { migration_tasks: string[] } }>('/migration-tasks/batch-restart', {
    config: CHANGES,
    schema: {
      summary: 'Restart several online migration tasks with their settings', operationId: 'BatchRestartOnlineMigrationTasks', tags: TAGS,
      params: pathParams('project_id'), body: BATCH_BODY, response: responses({ 200: BATCH_RESULT }),
    },
  }, async (req) => ({ migration_tasks: await migrations.batchRestart(req.params.project_id, req.body.migration_tasks, req.caller) }));
};
