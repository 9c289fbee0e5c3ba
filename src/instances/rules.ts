/**
 * Input rules DCS applies to instances: password complexity and the configuration parameters a
 * user may change (a subset of DCS's Redis parameter list, each with its allowed values).
 */
import { Errors } from '../errors.js';

const SPECIAL = /[~`!@#$%^&*()\-_=+\\|[{}\];:'",<.>/?]/;

/** 8–32 characters, at least three of: lower, upper, digit, special; no spaces, no leading '@'. */
export function checkPasswordComplexity(pw: string): void {
  if (pw.length < 8 || pw.length > 32) throw Errors.passwordComplexity('it must be 8 to 32 characters long.');
  if (/\s/.test(pw)) throw Errors.passwordComplexity('it must not contain spaces, tabs or line breaks.');
  if (/[^\x21-\x7e]/.test(pw)) throw Errors.passwordComplexity('it may contain only printable ASCII characters.');
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, SPECIAL].filter((r) => r.test(pw)).length;
  if (kinds < 3) throw Errors.passwordComplexity('it must contain at least three of: lowercase letters, uppercase letters, digits and special characters.');
}

const GB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Redis's maxmemory for a capacity in GB (what the instance may hold). */
export const capacityBytes = (gb: number): number => Math.round(gb * GB);

/** A capacity must come to at least 1 MiB: below that Redis would get maxmemory 0, no limit at all. */
export function checkCapacity(name: string, gb: number): void {
  if (!(capacityBytes(gb) >= MIB)) throw Errors.badParam(name, `must be at least 1 MiB (${MIB / GB} GB).`);
}

/** The maintenance window is one setting: its two ends are given together or not at all. */
export function checkMaintainWindow(begin: unknown, end: unknown): void {
  if ((begin === undefined) !== (end === undefined)) {
    throw Errors.badParam(begin === undefined ? 'maintain_begin' : 'maintain_end', 'maintain_begin and maintain_end are set together.');
  }
}

type Rule = { kind: 'int'; min: number; max: number } | { kind: 'enum'; values: string[] } | { kind: 'pattern'; re: RegExp; hint: string };

/** Keyed by a user's parameter name: a Map, so "constructor" or "__proto__" find nothing. */
export const CONFIG_RULES: ReadonlyMap<string, Rule> = new Map(Object.entries({
  'timeout': { kind: 'int', min: 0, max: 7200 },
  'maxmemory-policy': {
    kind: 'enum',
    values: ['volatile-lru', 'allkeys-lru', 'volatile-random', 'allkeys-random', 'volatile-ttl', 'noeviction', 'volatile-lfu', 'allkeys-lfu'],
  },
  'hash-max-ziplist-entries': { kind: 'int', min: 1, max: 10000 },
  'hash-max-ziplist-value': { kind: 'int', min: 1, max: 10000 },
  'set-max-intset-entries': { kind: 'int', min: 1, max: 10000 },
  'zset-max-ziplist-entries': { kind: 'int', min: 1, max: 10000 },
  'zset-max-ziplist-value': { kind: 'int', min: 1, max: 10000 },
  'latency-monitor-threshold': { kind: 'int', min: 0, max: 86400000 },
  'slowlog-log-slower-than': { kind: 'int', min: 0, max: 1000000 },
  'slowlog-max-len': { kind: 'int', min: 0, max: 1000 },
  'lua-time-limit': { kind: 'int', min: 100, max: 5000 },
  'notify-keyspace-events': { kind: 'pattern', re: /^[KEg$lshzxetmdA]*$/, hint: 'a combination of the letters K E g $ l s h z x e t m d A' },
} satisfies Record<string, Rule>));

/**
 * Stable param_id per parameter: "1" timeout, "2" maxmemory-policy, "3" hash-max-ziplist-entries
 * (the ids the provider's docs and tests use), then the rest in CONFIG_RULES order.
 */
export const PARAM_IDS: ReadonlyMap<string, string> = new Map([...CONFIG_RULES.keys()].map((name, k) => [name, String(k + 1)]));

/** Redis 7's defaults, for GET …/configs' default_value. */
const DEFAULTS: ReadonlyMap<string, string> = new Map(Object.entries({
  'timeout': '0', 'maxmemory-policy': 'noeviction', 'hash-max-ziplist-entries': '512', 'hash-max-ziplist-value': '64',
  'set-max-intset-entries': '512', 'zset-max-ziplist-entries': '128', 'zset-max-ziplist-value': '64', 'latency-monitor-threshold': '0',
  'slowlog-log-slower-than': '10000', 'slowlog-max-len': '128', 'lua-time-limit': '5000', 'notify-keyspace-events': '',
}));

/** Every parameter a user may change, as GET …/configs describes it (QueryRedisConfig); none needs a restart. */
export function describeParameters() {
  return [...CONFIG_RULES].map(([name, rule]) => ({
    param_id: PARAM_IDS.get(name)!, param_name: name, default_value: DEFAULTS.get(name) ?? '',
    value_type: rule.kind === 'int' ? 'Integer' : rule.kind === 'enum' ? 'Enum' : 'String',
    value_range: rule.kind === 'int' ? `${rule.min}-${rule.max}` : rule.kind === 'enum' ? rule.values.join(',') : rule.hint,
    description: describe(rule), need_restart: false,
  }));
}

export interface ConfigChange { param_id?: string; param_name: string; param_value: string }

/** Checks every change before any is applied, so a bad one changes nothing. */
export function checkConfigChanges(changes: ConfigChange[]): void {
  for (const c of changes) {
    const rule = CONFIG_RULES.get(c.param_name);
    if (!rule) throw Errors.badConfig(`Unknown or unmodifiable parameter: ${c.param_name}.`);
    if (c.param_id !== undefined && c.param_id !== PARAM_IDS.get(c.param_name)) {
      throw Errors.badConfig(`Unknown parameter: param_id ${JSON.stringify(c.param_id).slice(0, 40)} is not ${c.param_name} (its id is ${PARAM_IDS.get(c.param_name)}).`);
    }
    const v = c.param_value;
    const bad = () => Errors.badConfig(`Invalid value for ${c.param_name}: ${JSON.stringify(v).slice(0, 100)} (${describe(rule)}).`);
    if (rule.kind === 'int') {
      if (!/^\d{1,12}$/.test(v) || Number(v) < rule.min || Number(v) > rule.max) throw bad();
    } else if (rule.kind === 'enum') {
      if (!rule.values.includes(v)) throw bad();
    } else if (!rule.re.test(v)) throw bad();
  }
}

function describe(r: Rule): string {
  if (r.kind === 'int') return `an integer from ${r.min} to ${r.max}`;
  if (r.kind === 'enum') return `one of ${r.values.join(', ')}`;
  return r.hint;
}

export const ENGINE_VERSIONS = ['4.0', '5.0', '6.0', '7.0'];
