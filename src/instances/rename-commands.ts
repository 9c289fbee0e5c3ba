/**
 * Renamed commands (PUT …/instances/{id} `rename_commands`, the SDK's RenameCommandResp). DCS lets
 * nine commands be renamed; the new name starts with a letter and has 4–64 letters, digits, `-`
 * or `_`, and is never another of the nine (KEYS may become KEYS or ABC123, not SCAN). A request
 * gives the whole set: a command it does not name, or names as itself, gets its own name back.
 * The set lives in `extra.rename_commands` and becomes `rename-command` lines in every node's
 * redis.conf, so it takes effect at the next start (the restartInstance task) and holds after it.
 */
import { Errors } from '../errors.js';
import { commandName, withRedis, type RedisTarget } from '../redis/commands.js';
import type { InstanceRecord } from './records.js';

/** RenameCommandResp's fields, in its order. */
export const RENAMABLE = ['command', 'keys', 'flushdb', 'flushall', 'hgetall', 'scan', 'hscan', 'sscan', 'zscan'] as const;
export type RenamableCommand = (typeof RENAMABLE)[number];
export type RenameCommands = Partial<Record<RenamableCommand, string>>;

const NEW_NAME = /^[A-Za-z][A-Za-z0-9_-]{3,63}$/;
const isRenamable = (s: string): s is RenamableCommand => (RENAMABLE as readonly string[]).includes(s);

export function renamesOf(i: InstanceRecord): RenameCommands {
  const v = i.extra.rename_commands;
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as RenameCommands) : {};
}

/** RedisTarget.commandNames for the instance's renames: how the service itself must call them. */
export function commandNamesOf(i: InstanceRecord): { commandNames?: Record<string, string> } {
  const renames = renamesOf(i);
  return Object.keys(renames).length ? { commandNames: renames as Record<string, string> } : {};
}

/** A request's `rename_commands` as the set of renames it leaves; 400 DCS.4800 naming the field. */
export function parseRenames(body: unknown): RenameCommands {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw Errors.badParam('rename_commands', 'must be an object.');
  const out: RenameCommands = {};
  const taken = new Map<string, string>();
  for (const [command, name] of Object.entries(body as Record<string, unknown>)) {
    const field = `rename_commands.${command}`;
    if (!isRenamable(command)) throw Errors.badParam(field, `only ${RENAMABLE.join(', ')} can be renamed.`);
    if (typeof name !== 'string' || !NEW_NAME.test(name)) {
      throw Errors.badParam(field, 'must be 4 to 64 letters, digits, hyphens (-) or underscores (_), starting with a letter.');
    }
    const lower = name.toLowerCase();
    if (lower === command) continue;
    if (isRenamable(lower)) throw Errors.badParam(field, `cannot be ${lower}, another command that can be renamed.`);
    if (taken.has(lower)) throw Errors.badParam(field, `${name} is already the new name of ${taken.get(lower)}.`);
    taken.set(lower, command);
    out[command] = name;
  }
  return out;
}

/** The commands whose name differs between two sets (Redis command names ignore case). */
export function changedCommands(a: RenameCommands, b: RenameCommands): RenamableCommand[] {
  return RENAMABLE.filter((c) => (a[c] ?? c).toLowerCase() !== (b[c] ?? c).toLowerCase());
}

/**
 * Refuses a new name that is already another Redis command's (redis-server would not start with
 * it): asked of the running instance (`t`, with its command names) with COMMAND INFO, under the
 * name COMMAND has now. A name the instance gives one of the nine today is free, since the request
 * replaces the whole set.
 */
export async function checkNamesFree(t: RedisTarget, next: RenameCommands): Promise<void> {
  const wanted = Object.entries(next);
  if (!wanted.length) return;
  const infos = (await withRedis(t, (r) => r.call(commandName(t, 'command'), 'INFO', ...wanted.map(([, n]) => n!)))) as unknown[];
  wanted.forEach(([command, name], k) => {
    const info = infos[k];
    const owner = Array.isArray(info) ? String(info[0]).toLowerCase() : null;
    if (owner && !isRenamable(owner)) throw Errors.badParam(`rename_commands.${command}`, `${name} is the name of the Redis command ${owner}.`);
  });
}

