/** Service configuration: flags win over environment variables, which win over defaults. */
import path from 'node:path';

export interface ServeConfig {
  host: string;
  port: number;
  dataDir: string;
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };
  credentialsFile: string;
  credentialsExplicit: boolean;
  redisServer: string;
  noAuth: boolean;
  logLevel: string;
  taskRetentionDays: number | null;
  limits: ServiceLimits;
}

/** What one client may hold of the machine; see the README's "Limits". */
export interface ServiceLimits {
  /** Managed and attached instances per project. */
  instanceQuota: number;
  /** Time to receive a request's headers, and the whole request (headers and body), in ms. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this long, in ms. */
  keepAliveTimeoutMs: number;
  /** Open connections at most; more are refused by closing them at once. */
  maxConnections: number;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  instanceQuota: 20, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, maxConnections: 256,
};

export class ConfigError extends Error {}

export interface ServeFlags {
  host?: string;
  port?: string;
  data?: string;
  database?: string;
  credentials?: string;
  redisServer?: string;
  auth?: boolean; // commander turns --no-auth into auth: false
  logLevel?: string;
  taskRetentionDays?: string;
  instanceQuota?: string;
  headersTimeout?: string;
  requestTimeout?: string;
  keepAliveTimeout?: string;
  maxConnections?: string;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function resolveServeConfig(f: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const host = f.host ?? env.DCS_HOST ?? '127.0.0.1';
  const portText = f.port ?? env.DCS_PORT ?? '8080';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new ConfigError(`invalid port "${portText}": expected 0-65535`);
  const dataDir = path.resolve(f.data ?? env.DCS_DATA_DIR ?? './.dcs-tasks');
  const dbText = f.database ?? env.DCS_DATABASE_URL ?? `sqlite:${path.join(dataDir, 'dcs.db')}`;
  let database: ServeConfig['database'];
  if (dbText.startsWith('sqlite:')) {
    const file = dbText.slice('sqlite:'.length);
    if (!file) throw new ConfigError(`invalid database URL "${dbText}": sqlite: needs a file path`);
    database = { kind: 'sqlite', file: path.resolve(file) };
  } else if (/^postgres(ql)?:\/\//.test(dbText)) {
    database = { kind: 'postgres', url: dbText };
  } else {
    throw new ConfigError(`unknown database URL "${dbText.replace(/\/\/[^@/]*@/, '//***@')}": use sqlite:PATH or postgres://…`);
  }
  const credentialsFlag = f.credentials ?? env.DCS_CREDENTIALS_FILE;
  const logLevel = f.logLevel ?? env.DCS_LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(logLevel)) throw new ConfigError(`invalid log level "${logLevel}": use one of ${LEVELS.join(', ')}`);
  const retention = f.taskRetentionDays ?? env.DCS_TASK_RETENTION_DAYS;
  if (retention !== undefined && !(Number(retention) > 0)) throw new ConfigError(`invalid task retention "${retention}": expected a number of days > 0`);
  const noAuthEnv = env.DCS_NO_AUTH ?? '';
  // A switch that turns authentication off is read exactly: "true" silently leaving it on, or
  // "off" turning it off, would both surprise.
  if (!['', '0', '1'].includes(noAuthEnv)) throw new ConfigError(`invalid DCS_NO_AUTH "${noAuthEnv}": 1 turns authentication off, 0 or unset leaves it on`);
  const noAuth = f.auth === false || noAuthEnv === '1';
  if (noAuth && !isLoopback(host)) throw new ConfigError(`--no-auth is refused: the service would listen on ${host}, which is not a loopback address`);
  return {
    host,
    port: Number(portText),
    dataDir,
    database,
    credentialsFile: path.resolve(credentialsFlag ?? path.join(dataDir, 'credentials.json')),
    credentialsExplicit: credentialsFlag !== undefined,
    redisServer: f.redisServer ?? env.DCS_REDIS_SERVER ?? 'redis-server',
    noAuth,
    logLevel,
    taskRetentionDays: retention === undefined ? null : Number(retention),
    limits: resolveLimits(f, env),
  };
}

function resolveLimits(f: ServeFlags, env: NodeJS.ProcessEnv): ServiceLimits {
  const count = (flag: string | undefined, name: string, what: string, def: number, min: number, max: number): number => {
    const text = flag ?? env[name];
    if (text === undefined) return def;
    if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new ConfigError(`invalid ${what} "${text}": expected an integer from ${min} to ${max}`);
    }
    return Number(text);
  };
  const d = DEFAULT_LIMITS;
  const limits = {
    instanceQuota: count(f.instanceQuota, 'DCS_INSTANCE_QUOTA', 'instance quota', d.instanceQuota, 0, 100_000),
    headersTimeoutMs: count(f.headersTimeout, 'DCS_HEADERS_TIMEOUT_MS', 'headers timeout', d.headersTimeoutMs, 100, 3_600_000),
    requestTimeoutMs: count(f.requestTimeout, 'DCS_REQUEST_TIMEOUT_MS', 'request timeout', d.requestTimeoutMs, 100, 3_600_000),
    keepAliveTimeoutMs: count(f.keepAliveTimeout, 'DCS_KEEP_ALIVE_TIMEOUT_MS', 'keep-alive timeout', d.keepAliveTimeoutMs, 100, 3_600_000),
    maxConnections: count(f.maxConnections, 'DCS_MAX_CONNECTIONS', 'connection cap', d.maxConnections, 1, 1_000_000),
  };
  // Node refuses a headers timeout longer than the request timeout.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError(`headers timeout ${limits.headersTimeoutMs} ms is longer than the request timeout ${limits.requestTimeoutMs} ms`);
  }
  return limits;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
