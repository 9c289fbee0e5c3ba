/**
 * The instance routes automation needs beside show/list (automation.md §3.2–3.5): status
 * counts, running-instance statistics, batch delete, the parameter list, flavors and zones.
 * Fixed segments (`status`, `statistic`, `export-job`) are static routes, which Fastify's router
 * prefers over `/instances/:instance_id`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { InstanceService } from '../../instances/service.js';
import { statusCounts, STATUS_COUNTERS } from '../../instances/listing.js';
import { AVAILABILITY_ZONE, findFlavors, type FlavorFilter } from '../../instances/flavors.js';
import { Errors } from '../../errors.js';
import { aclAccountView, defaultAccountView } from '../views.js';
import { CHANGES, READS, complete, pathParams, responses } from '../schemas.js';
import { flag, flavorQuery } from '../query.js';

type P = { project_id: string; instance_id: string };
type Q = Record<string, string | undefined>;

const INT = { type: 'integer' } as const;
const STR = { type: 'string' } as const;
const COUNTERS = complete({ type: 'object', properties: Object.fromEntries(STATUS_COUNTERS.map((c) => [`${c}_count`, INT])) });
const ACL_ACCOUNT = complete({
  type: 'object',
  properties: {
    account_id: STR, account_name: STR, account_type: { type: 'string', enum: ['normal', 'default'] }, instance_id: STR, status: STR,
    account_role: { type: 'string', enum: ['read', 'write'] }, description: STR, error_code: { type: ['string', 'null'] },
  },
});
const RESULTS = complete({
  type: 'object',
  properties: { results: { type: 'array', items: complete({ type: 'object', properties: { instance: STR, result: { type: 'string', enum: ['success', 'failed'] } } }) } },
});

export const instanceQueryRoutes: FastifyPluginAsync<{ instances: InstanceService }> = async (app, { instances }) => {
  app.get<{ Params: P; Querystring: Q }>('/instances/status', {
    config: READS,
    schema: {
      summary: 'Number of instances in each status', operationId: 'ListNumberOfInstancesInDifferentStatus', tags: ['instances'],
      params: pathParams('project_id'), querystring: { type: 'object', properties: { include_failure: STR } },
      response: responses({
        200: complete({ type: 'object', properties: { redis: COUNTERS, memcached: COUNTERS, ...COUNTERS.properties } }),
      }),
    },
  }, async (req) => {
    const redis = statusCounts(await instances.states(req.params.project_id), flag(req.query, 'include_failure'));
    const memcached = Object.fromEntries(Object.keys(redis).map((k) => [k, 0]));
    return { redis, memcached, ...redis };
  });

  app.get<{ Params: P }>('/instances/statistic', {
    config: READS,
    schema: {
      summary: 'Statistics of running instances (INFO of each)', operationId: 'ListStatisticsOfRunningInstances', tags: ['instances'],
      params: pathParams('project_id'),
    },
  }, async (req) => {
    const statistics = await instances.statistics(req.params.project_id);
    return { statistics };
  });

  app.get<{ Params: P }>('/instances/export-job', {
    config: READS,
    schema: { summary: 'Instance list export job (none is ever started here)', operationId: 'ExportExcelJob', tags: ['instances'], params: pathParams('project_id') },
  }, async () => {
    throw Errors.jobNotFound();
  });

  app.delete<{ Params: P; Querystring: Q; Body: { instances?: unknown } | undefined }>('/instances', {
    config: CHANGES,
    schema: {
      summary: 'Delete instances in a batch (all_failure=true: every CREATEFAILED instance)', operationId: 'BatchDeleteInstances', tags: ['instances'],
      params: pathParams('project_id'), querystring: { type: 'object', properties: { all_failure: STR } },
      body: { type: ['object', 'null'], properties: { instances: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', maxLength: 64 } } } },
      response: responses({ 200: RESULTS }),
    },
  }, async (req) => ({
    results: await instances.batchDelete(req.params.project_id, flag(req.query, 'all_failure') ? 'all_failure' : req.body?.instances as unknown[] | undefined),
  }));

  app.get<{ Params: P }>('/instances/:instance_id/configs', {
    config: READS,
    schema: {
      summary: 'The instance parameters and their values now', operationId: 'ListConfigurations', tags: ['instances'],
      params: pathParams('project_id', 'instance_id'),
      response: responses({
        200: complete({
          type: 'object',
          properties: {
            instance_id: STR, config_status: STR, status: STR, config_time: STR,
            redis_config: {
              type: 'array',
              items: complete({
                type: 'object',
                properties: {
                  param_id: STR, param_name: STR, param_value: STR, default_value: STR, value_type: STR, value_range: STR, description: STR,
                  need_restart: { type: 'boolean' },
                },
              }),
            },
          },
        }),
      }),
    },
  }, async (req) => {
    const { instance, params } = await instances.configs(req.params.project_id, req.params.instance_id);
    return {
      instance_id: instance.id, config_status: 'SUCCESS', status: instance.status, config_time: new Date(instance.updatedAt).toISOString(),
      redis_config: params,
    };
  });

  app.get<{ Params: P }>('/instances/:instance_id/accounts', {
    config: READS,
    schema: {
      summary: 'ACL accounts of an instance (the default account first)', operationId: 'ListAclAccounts', tags: ['acl accounts'],
      params: pathParams('project_id', 'instance_id'),
      response: responses({ 200: complete({ type: 'object', properties: { accounts: { type: 'array', items: ACL_ACCOUNT } } }) }),
    },
  }, async (req) => {
    const { instance: i, accounts } = await instances.accounts(req.params.project_id, req.params.instance_id);
    return { accounts: [defaultAccountView(i), ...accounts.map((a) => aclAccountView(i, a))] };
  });

  app.get<{ Params: P; Querystring: FlavorFilter }>('/flavors', {
    config: READS,
    schema: {
      summary: 'Flavors: every spec_code this service accepts', operationId: 'ListFlavors', tags: ['instances'], params: pathParams('project_id'),
      querystring: { type: 'object', properties: { spec_code: STR, cache_mode: STR, capacity: STR, engine_version: STR, cpu_type: STR, engine: STR, instance_id: STR } },
    },
  }, async (req) => ({ flavors: findFlavors(flavorQuery(req.query as Record<string, string | undefined>)) }));
};

/** GET /v2/available-zones: below /v2 with no project, public (DCS lists them for any caller). */
export const zoneRoutes: FastifyPluginAsync = async (app) => {
  app.get('/available-zones', {
    schema: { summary: 'Availability zones', operationId: 'ListAvailableZones', tags: ['instances'] },
  }, async () => ({ region_id: 'local', available_zones: [AVAILABILITY_ZONE] }));
};
