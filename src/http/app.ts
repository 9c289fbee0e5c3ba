/**
 * The HTTP application: Fastify with the DCS routes, authentication, error mapping, request
 * ids, one log line per request, metrics and the OpenAPI document. No SQL and no Redis here:
 * handlers call the domain services.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { DEFAULT_LIMITS, type ServiceLimits } from '../config.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { InstanceService } from '../instances/service.js';
import type { TaskService } from '../tasks/service.js';
import { BODY_LIMIT, credentialsWithoutBody, registerAuthHook } from './auth-hook.js';
import { MAX_PATH_SEGMENT, Overloaded, NotServing, answerWhatNodeWould, clientErrorHandler, errorCodeOf, frameworkError, newRequestId, registerErrorHandling, routableUrl } from './errors.js';
import { registerMetrics, type MetricSources } from './metrics.js';
import { registerHealth, type HealthSources } from './health.js';
import { instanceRoutes } from './routes/instances.js';
import { taskRoutes } from './routes/tasks.js';
import { tokenRoutes } from './routes/tokens.js';
import { auditRoutes } from './routes/audit.js';
import type { TaskAuditLog } from '../tasks/audit.js';
import { operationRoutes } from './routes/operations.js';
import { instanceQueryRoutes, zoneRoutes } from './routes/instance-queries.js';
import { backupRoutes, downloadRoutes } from './routes/backups.js';
import type { BackupService } from '../records/backups.js';
import { migrationRoutes } from './routes/migrations.js';
import type { MigrationService } from '../migrations/service.js';
import { scanRoutes } from './routes/scans.js';
import type { ScanService } from '../records/scans.js';
import { registerConsole } from './console.js';
import { toOpenApi30 } from './openapi30.js';
import { SERVERS, integerPaging, registerDocs } from './docs.js';
import { lazyCompilers, loadCompilers } from './lazy-schemas.js';
import { afterListening } from './after-listening.js';

export interface AppDeps {
  logger: Logger;
  auth: Authenticator;
  tasks: TaskService;
  instances: InstanceService;
  backups: BackupService;
  scans: ScanService;
  metrics: MetricSources;
  audit: TaskAuditLog;
  health: HealthSources;
  version: string;
  /** Timeouts and the connection cap (README "Limits"); the defaults when absent. */
  limits?: ServiceLimits;
  /** Data migrations and the host they report as ecs_tenant_private_ip. */
  migrations?: { service: MigrationService; host: string };
}

export async function buildApp(d: AppDeps): Promise<FastifyInstance> {
  const limits = d.limits ?? DEFAULT_LIMITS;
  const timeouts = { headersMs: limits.headersTimeoutMs, requestMs: limits.requestTimeoutMs };
  const app = Fastify({
    loggerInstance: d.logger,
    // Our own one line per request (see onResponse), labelled request_id.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: newRequestId,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PATH_SEGMENT },
    // Fields a route does not know are removed before the handler sees them (so they never
    // reach a task's params): DCS clients send extras, such as vpc_id on create, and expect
    // them ignored rather than refused.
    // validateSchema: false — our route schemas are constants of the code, not input, and every
    // route's schema is exercised by the tests (test/http/generated.test.ts); checking each
    // against the JSON Schema meta-schema at every start cost ~10 % of start-up.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: 'all', allErrors: false, validateSchema: false } },
    // Each route's validators and serializers are compiled on its first request (lazy-schemas.ts).
    schemaController: { compilersFactory: lazyCompilers },
    rewriteUrl: (req: { url?: string }) => routableUrl(req.url ?? '/'),
    frameworkErrors: frameworkError,
    // Requests arriving while the server closes are refused by the onRequest hook below, in the
    // contract's shape (Fastify's own 503 has another body and no request id).
    return503OnClosing: false,
    clientErrorHandler: clientErrorHandler(timeouts, d.logger),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // A request without Host reaches the routes (and gets the contract's answer) rather than
    // Node's bare 400; Node checks the timeouts at this interval.
    http: { requireHostHeader: false, headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs) },
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  // The schema compilers load with the first schema compiled, or soon after listening.
  afterListening(app, loadCompilers);
  // Past the connection cap a request is answered 503 in the contract's shape and its connection
  // closed (Node's own maxConnections resets the socket: no status, no body, no request id).
  let connections = 0;
  const overCap = new WeakSet<object>();
  app.server.on('connection', (socket) => {
    if (++connections > limits.maxConnections) overCap.add(socket);
    socket.once('close', () => connections--);
  });
  app.server.headersTimeout = limits.headersTimeoutMs;
  // A client that half-closes after its request (`printf … | nc`, HTTP/1.0 tools) still gets its
  // answers, then the connection ends: by default Node aborted every request still waiting for
  // the store or Redis when the FIN arrived — its change made, its answer and log line lost.
  (app.server as typeof app.server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  answerWhatNodeWould(app.server, d.logger);

  // Every route's method, for 405 + Allow on a known path with the wrong method. A path is the
  // route's whose segments are fixed where another's are parameters (`/instances/status` is not
  // an instance: automation.md), as the router decides for a method both serve.
  const routes: { re: RegExp; method: string; fixed: string }[] = [];
  app.addHook('onRoute', (r) => {
    const re = new RegExp(`^${r.url.replace(/:[^/]+/g, '[^/]+')}$`);
    const fixed = r.url.split('/').map((seg) => (seg.startsWith(':') ? '0' : '1')).join('');
    for (const m of [r.method].flat()) routes.push({ re, method: m, fixed });
  });
  const allowedMethods = (url: string) => {
    const p = url.split('?')[0];
    const matching = routes.filter((r) => r.re.test(p));
    const best = matching.reduce((b, r) => (r.fixed > b ? r.fixed : b), '');
    return [...new Set(matching.filter((r) => r.fixed === best).map((r) => r.method))];
  };

  // Callback hooks, not async ones: these run on every request, and a promise per hook shows.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('X-Request-Id', req.id);
    if (closing) {
      reply.header('Connection', 'close');
      return done(new NotServing('shutting down'));
    }
    done(overCap.has(req.raw.socket) ? new Overloaded(limits.maxConnections) : undefined);
  });
  app.addHook('onResponse', (req, reply, done) => {
    if (d.logger.isLevelEnabled('info')) logRequest(req, reply);
    done();
  });
  const logRequest = (req: FastifyRequest, reply: FastifyReply) => {
    // The ids of the path (project_id, instance_id, task_id, …) and who asked, so a line can be
    // found by any of them; never a secret.
    const ids = Object.fromEntries(Object.entries((req.params ?? {}) as Record<string, string>).filter(([k]) => k.endsWith('_id')));
    req.log.info({
      method: req.method, route: req.routeOptions.url ?? null, status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      error_code: errorCodeOf(req), user_name: req.caller?.userName ?? null, ...ids,
    }, 'request');
  };

  registerErrorHandling(app, allowedMethods, credentialsWithoutBody(d.auth));
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
  app.get('/openapi.json', { schema: { summary: 'This OpenAPI 3 document (no authentication)', tags: ['service'], security: [] } }, async () => app.swagger());
  // Every DCS route is a plugin below the project: one concern each.
  const prefix = '/v2/:project_id';
  await app.register(taskRoutes, { prefix, tasks: d.tasks });
  await app.register(instanceRoutes, { prefix, instances: d.instances, policies: d.backups.policies });
  await app.register(operationRoutes, { prefix, instances: d.instances, tasks: d.tasks, policies: d.backups.policies });
  await app.register(instanceQueryRoutes, { prefix, instances: d.instances });
  await app.register(zoneRoutes, { prefix: '/v2' });
  await app.register(tokenRoutes, { prefix, auth: d.auth });
  await app.register(backupRoutes, { prefix, backups: d.backups });
  await app.register(downloadRoutes, { backups: d.backups });
  if (d.migrations) await app.register(migrationRoutes, { prefix, migrations: d.migrations.service, host: d.migrations.host });
  await app.register(auditRoutes, { prefix, audit: d.audit });
  await app.register(scanRoutes, { prefix, scans: d.scans });
  await registerConsole(app);
  await registerDocs(app);
  return app;
}
