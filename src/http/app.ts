/**
 * The HTTP application: Fastify with the DCS routes, authentication, error mapping, request
 * ids, one log line per request, metrics and the OpenAPI document. No SQL and no Redis here:
 * handlers call the domain services.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import type { InstanceService } from '../instances/service.js';
import type { TaskService } from '../tasks/service.js';
import { BODY_LIMIT, registerAuthHook } from './auth-hook.js';
import { registerErrorHandling } from './errors.js';
import { registerMetrics, type MetricSources } from './metrics.js';
import { registerHealth, type HealthSources } from './health.js';
import { instanceRoutes } from './routes/instances.js';
import { taskRoutes } from './routes/tasks.js';
import { tokenRoutes } from './routes/tokens.js';
import { auditRoutes } from './routes/audit.js';
import type { TaskAuditLog } from '../tasks/audit.js';
import { registerConsole } from './console.js';
import { toOpenApi30 } from './openapi30.js';
import { SERVERS, integerPaging, registerDocs } from './docs.js';

export interface AppDeps {
  logger: Logger;
  auth: Authenticator;
  tasks: TaskService;
  instances: InstanceService;
  metrics: MetricSources;
  audit: TaskAuditLog;
  health: HealthSources;
  version: string;
}

export async function buildApp(d: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: d.logger,
    // Our own one line per request (see onResponse), labelled request_id.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: () => randomBytes(16).toString('hex'),
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 4096 },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }) as unknown as FastifyInstance;

  // Every route's method, for 405 + Allow on a known path with the wrong method.
  const routes: { re: RegExp; method: string }[] = [];
  app.addHook('onRoute', (r) => {
    const re = new RegExp(`^${r.url.replace(/:[^/]+/g, '[^/]+')}$`);
    for (const m of [r.method].flat()) routes.push({ re, method: m });
  });
  const allowedMethods = (url: string) => {
    const p = url.split('?')[0];
    return [...new Set(routes.filter((r) => r.re.test(p)).map((r) => r.method))];
  };

  app.addHook('onRequest', async (req, reply) => {
    reply.header('X-Request-Id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({
      method: req.method, route: req.routeOptions.url ?? null, status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100,
    }, 'request');
  });

  registerErrorHandling(app, allowedMethods);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'dcs-tasks: DCS background-task API', version: d.version },
      servers: SERVERS,
      components: {
        securitySchemes: {
          aksk: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'SDK-HMAC-SHA256 AK/SK signature (see auth.md)' },
          token: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' },
        },
      },
      security: [{ aksk: [] }, { token: [] }],
    },
    transformObject: (d) => ('openapiObject' in d ? toOpenApi30(integerPaging(d.openapiObject as Record<string, unknown>)) : d.swaggerObject),
  });
  registerAuthHook(app, d.auth);
  registerMetrics(app, d.metrics);

  registerHealth(app, d.health);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  taskRoutes(app, d.tasks, d.instances);
  instanceRoutes(app, d.instances);
  tokenRoutes(app, d.auth);
  await app.register(auditRoutes, { audit: d.audit });
  await registerConsole(app);
  await registerDocs(app);
  return app;
}
