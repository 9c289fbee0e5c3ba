/**
 * Short-lived Redis connections for operations. Every helper connects, does one thing and
 * disconnects, failing fast (no retry storms): the engine decides what a failure means.
 * Error messages never carry a password.
 */
import type { Redis } from 'ioredis';

export interface RedisTarget {
  host: string;
  port: number;
  password: string | null;
  username?: string | null;
  tls?: boolean;
  /**
   * Called after connecting, right before the commands are sent: a task's lease check, so work
   * that lost its lease never reaches Redis (it throws to stop).
   */
  beforeEffect?: () => void;
  /**
   * The names this Redis knows some commands by, when they are renamed (redis.conf
   * rename-command): original lower-case name → new name. The service's own FLUSHALL and SCAN
   * go by these names, as a client of the instance has to.
   */
  commandNames?: Readonly<Record<string, string>>;
}

/** What `command` (lower-case) is called on `t`: its new name when renamed, else itself. */
export function commandName(t: RedisTarget, command: string): string {
  return t.commandNames?.[command] ?? command;
}

export function parseRedisUrl(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('redis_url is not a valid URL (expected redis://[user:password@]host:port)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('redis_url must start with redis:// or rediss://');
  if (!u.hostname) throw new Error('redis_url has no host');
  const port = u.port ? Number(u.port) : 6379;
  if (u.pathname && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname)) throw new Error('redis_url path must be a database number');
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    password: u.password ? decodeURIComponent(u.password) : null,
    username: u.username ? decodeURIComponent(u.username) : null,
    tls: u.protocol === 'rediss:',
  };
}

/** A connection, not yet connected. ioredis is loaded on the first one (~15 % of start-up otherwise). */
export async function connectRedis(t: RedisTarget, opts: { timeoutMs?: number } = {}): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const timeout = opts.timeoutMs ?? 5000;
  const r = new Redis({
    host: t.host,
    port: t.port,
    password: t.password ?? undefined,
    username: t.username ?? undefined,
    tls: t.tls ? {} : undefined,
    connectTimeout: timeout,
    commandTimeout: timeout,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: true,
    lazyConnect: true,
    // The handshake is then one command (HELLO), not three in separate writes: a server that is
    // not a Redis answers the first and closes, the later writes reset the connection, and the
    // reset discards its answer — the client saw only "write EPIPE", a lost link, not what is wrong.
    disableClientInfo: true,
  });
  r.on('error', () => {}); // surfaced through the command promises
  return r;
}

/**
 * The first line of a Redis error, up to 300 characters, without anything that could echo a
 * secret back (the word after AUTH, requirepass or masterauth). NOAUTH's own text names the
 * HELLO AUTH syntax, which that would garble: it is said plainly instead.
 */
export function redisErrorText(e: unknown): string {
  const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  if (/^NOAUTH\b/.test(first)) return 'NOAUTH Authentication required: the server has a password, and none was given.';
  return first.replace(/\b(AUTH|requirepass|masterauth)\s+\S+/gi, '$1 ***').slice(0, 300);
}

function clean(e: unknown): Error {
  return new Error(redisErrorText(e));
}

export async function withRedis<T>(t: RedisTarget, fn: (r: Redis) => Promise<T>, opts?: { timeoutMs?: number }): Promise<T> {
  const r = await connectRedis(t, opts);
  try {
    await r.connect();
    t.beforeEffect?.();
    return await fn(r);
  } catch (e) {
    throw e instanceof Error && e.name === 'LeaseLost' ? e : clean(e);
  } finally {
    r.disconnect();
  }
}

export async function ping(t: RedisTarget, opts?: { timeoutMs?: number }): Promise<boolean> {
  try {
    return (await withRedis(t, (r) => r.ping(), opts ?? { timeoutMs: 2000 })) === 'PONG';
  } catch (e) {
    if (e instanceof Error && e.name === 'LeaseLost') throw e;
    return false;
  }
}

/**
 * The working directory of the Redis answering at `t` (CONFIG GET dir), or null when none answers
 * or it refuses (wrong password, CONFIG not allowed): which server is behind a port, not only
 * whether one is.
 */
export async function serverDir(t: RedisTarget, opts?: { timeoutMs?: number }): Promise<string | null> {
  try {
    return await configGet(t, 'dir', opts);
  } catch (e) {
    if (e instanceof Error && e.name === 'LeaseLost') throw e;
    return null;
  }
}

export async function flushAll(t: RedisTarget): Promise<void> {
  await withRedis(t, (r) => r.call(commandName(t, 'flushall')));
}

export async function configSet(t: RedisTarget, name: string, value: string): Promise<void> {
  await withRedis(t, (r) => r.config('SET', name, value));
}

export async function configGet(t: RedisTarget, name: string, opts?: { timeoutMs?: number }): Promise<string | null> {
  const res = (await withRedis(t, (r) => r.config('GET', name), opts)) as string[];
  return res.length >= 2 ? res[1] : null;
}

/** CONFIG SET requirepass: in Redis 7 this also sets the default user's password. */
export async function setPassword(t: RedisTarget, newPassword: string | null): Promise<void> {
  await withRedis(t, (r) => r.config('SET', 'requirepass', newPassword ?? ''));
}

export async function infoSection(t: RedisTarget, section: string, opts?: { timeoutMs?: number }): Promise<Record<string, string>> {
  const text = await withRedis(t, (r) => r.info(section), opts);
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** The databases that hold keys, with their key counts (INFO keyspace). */
export async function keyspace(r: Redis): Promise<{ db: number; keys: number }[]> {
  const text = await r.info('keyspace');
  const out: { db: number; keys: number }[] = [];
  for (const m of text.matchAll(/^db(\d+):keys=(\d+)/gm)) out.push({ db: Number(m[1]), keys: Number(m[2]) });
  return out.sort((a, b) => a.db - b.db);
}

/** Sum of the keys of every database, or null when the Redis cannot be reached. */
export async function totalKeys(t: RedisTarget): Promise<number | null> {
  const r = await connectRedis(t, { timeoutMs: 2000 });
  try {
    await r.connect();
    return (await keyspace(r)).reduce((a, d) => a + d.keys, 0);
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

/** ACL SETUSER name rule…: creates or replaces a Redis ACL user (Redis ≥ 6). */
export async function aclSetUser(t: RedisTarget, name: string, rules: string[]): Promise<void> {
  await withRedis(t, (r) => r.call('ACL', 'SETUSER', name, ...rules));
}

/** ACL DELUSER name: 1 when it existed. */
export async function aclDelUser(t: RedisTarget, name: string): Promise<number> {
  return Number(await withRedis(t, (r) => r.call('ACL', 'DELUSER', name)));
}
