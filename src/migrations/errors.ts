/** How a migration's Redis failures are told apart: refused (not retried), interrupted (resumable), or a lost connection. */
import { redisErrorText } from '../redis/commands.js';

/** A Redis error reply (the target refused a payload, a wrong password…): retrying will not help. */
export class RedisRefused extends Error {
  override readonly name = 'RedisRefused';
}

/** The run is being interrupted (shutdown, lease lost): leave it resumable. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

/** Redis error replies become RedisRefused (not retried); anything else stays a connection problem. */
export function asMigrationError(e: unknown, where: string): Error {
  const msg = redisErrorText(e);
  const name = e instanceof Error ? e.name : '';
  if (name === 'ReplyError' || /^(ERR|WRONGPASS|NOAUTH|NOPERM|BUSYKEY|READONLY|OOM|LOADING)\b/.test(msg)) return new RedisRefused(`${where}: ${msg}`);
  // Something answered, but not a Redis (the parser's own words name its internals): it will
  // not become one by being asked again.
  if (name === 'ParserError' || /Unknown RESP type|Protocol error/i.test(msg)) {
    return new RedisRefused(`${where}: it answered, but not in the Redis protocol (is the address a Redis server?)`);
  }
  return new Error(`${where}: ${msg}`);
}
