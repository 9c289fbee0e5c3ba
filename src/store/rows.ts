/**
 * Row <-> record mapping shared by both stores: the column names are the same in SQLite and
 * PostgreSQL, so one mapping serves both (PostgreSQL returns BIGINT as strings: num() copes).
 */
import type { AuditRecord, StepRecord, TaskRecord, TaskStatus, StepStatus } from '../tasks/records.js';
import type { InstancePatch, InstanceRecord, InstanceStatus } from '../instances/records.js';
import type { CredentialRecord, TokenRecord } from '../auth/records.js';
import { RESERVED_PORT_KEY, type CreateTaskOptions, type InstanceCondition } from './types.js';

type Row = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const jsonArray = (v: unknown): unknown[] => (typeof v === 'string' ? JSON.parse(v) : ((v as unknown[]) ?? []));
const json = (v: unknown): Record<string, unknown> => (typeof v === 'string' ? JSON.parse(v) : ((v as Record<string, unknown>) ?? {}));

export function instanceFromRow(r: Row): InstanceRecord {
  return {
    id: String(r.id),
    projectId: String(r.project_id),
    name: String(r.name),
    engine: String(r.engine),
    engineVersion: String(r.engine_version),
    capacityGb: num(r.capacity_gb),
    host: String(r.host),
    port: num(r.port),
    status: String(r.status) as InstanceStatus,
    managed: r.managed === true || num(r.managed) === 1,
    redisUrl: strOrNull(r.redis_url),
    password: strOrNull(r.password),
    pendingPassword: strOrNull(r.pending_password),
    username: strOrNull(r.username),
    extra: json(r.extra),
    nodes: jsonArray(r.nodes) as InstanceRecord['nodes'],
    ownerNode: strOrNull(r.owner_node),
    createdAt: num(r.created_at),
    launchedAt: numOrNull(r.launched_at),
    updatedAt: num(r.updated_at),
  };
}

/** Column values for an instance, in INSTANCE_COLUMNS order. */
export const INSTANCE_COLUMNS = [
  'id', 'project_id', 'name', 'engine', 'engine_version', 'capacity_gb', 'host', 'port', 'status', 'managed',
  'redis_url', 'password', 'pending_password', 'username', 'extra', 'nodes', 'owner_node', 'created_at', 'updated_at',
  'launched_at',
] as const;

const INSTANCE_FIELD_COLUMN: Record<string, string> = {
  name: 'name', engine: 'engine', engineVersion: 'engine_version', capacityGb: 'capacity_gb', host: 'host', port: 'port',
  status: 'status', managed: 'managed', redisUrl: 'redis_url', password: 'password', pendingPassword: 'pending_password', username: 'username',
  nodes: 'nodes', ownerNode: 'owner_node', updatedAt: 'updated_at',
};

export function instanceValues(i: InstanceRecord, managedAsInt: boolean): unknown[] {
  return [
    i.id, i.projectId, i.name, i.engine, i.engineVersion, i.capacityGb, i.host, i.port, i.status,
    managedAsInt ? (i.managed ? 1 : 0) : i.managed, i.redisUrl, i.password, i.pendingPassword, i.username, JSON.stringify(i.extra),
    JSON.stringify(i.nodes), i.ownerNode, i.createdAt, i.updatedAt, i.launchedAt,
  ];
}

/** Turns a partial instance into [column, value] pairs for an UPDATE. */
/**
 * An InstancePatch as [column, value] pairs for an UPDATE's SET list. A key of `extraKeys` is a
 * pair of its own, `extra.<key>` with the value's JSON: the plans set it inside the stored JSON.
 */
export function instancePatchColumns(patch: InstancePatch, managedAsInt: boolean): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(patch)) {
    const col = INSTANCE_FIELD_COLUMN[k];
    if (!col || v === undefined) continue;
    if (k === 'nodes') out.push([col, JSON.stringify(v)]);
    else if (k === 'managed') out.push([col, managedAsInt ? (v ? 1 : 0) : v]);
    else out.push([col, v]);
  }
  for (const [key, v] of Object.entries(patch.extraKeys ?? {})) {
    if (!EXTRA_KEY.test(key)) throw new Error(`not a key of extra: ${JSON.stringify(key)}`);
    if (v !== undefined) out.push([`${EXTRA_PREFIX}${key}`, JSON.stringify(v)]);
  }
  // The first write that records RUNNING is the launch (see setColumn: written only when empty).
  if (patch.status === 'RUNNING') out.push(['launched_at', patch.updatedAt ?? Date.now()]);
  return out;
}

/** The `extra` key an InstanceCondition compares (written into the SQL as a JSON path), or null. */
export function conditionKey(c: InstanceCondition): string | null {
  if (!c.extraKeyIs) return null;
  if (!EXTRA_KEY.test(c.extraKeyIs.key)) throw new Error(`not a key of extra: ${JSON.stringify(c.extraKeyIs.key)}`);
  return c.extraKeyIs.key;
}

/** The JSON an InstanceCondition's key must hold: null for an absent key, undefined without a key. */
export function conditionValue(c: InstanceCondition): string | null | undefined {
  if (!c.extraKeyIs) return undefined;
  return c.extraKeyIs.value === undefined ? null : JSON.stringify(c.extraKeyIs.value);
}

/** What createTask writes to the instance: the caller's patch, with the claimed port when there is one. */
export function taskInstancePatch(o: CreateTaskOptions): InstancePatch | undefined {
  if (o.claimPort === undefined) return o.instancePatch;
  return { ...o.instancePatch, extraKeys: { ...o.instancePatch?.extraKeys, [RESERVED_PORT_KEY]: o.claimPort } };
}

/** `extra.<key>`: one key set inside the `extra` JSON column (see InstancePatch.extraKeys). */
export const EXTRA_PREFIX = 'extra.';
/** Keys are the service's own snake_case names; they are written into SQL as JSON paths. */
const EXTRA_KEY = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The SET list of an instance update, in the order of `columns` (placeholder k for column k):
 * `extra.<key>` columns become one assignment of `extra` that sets those keys, built by
 * `setExtraKeys(keys with their placeholders)`, the dialect's JSON function.
 */
export function instanceAssignments(
  columns: string[], placeholder: (k: number) => string, setExtraKeys: (keys: [string, string][]) => string,
): string {
  const keys: [string, string][] = [];
  const sets: string[] = [];
  columns.forEach((c, k) => {
    if (c.startsWith(EXTRA_PREFIX)) keys.push([c.slice(EXTRA_PREFIX.length), placeholder(k)]);
    else sets.push(setColumn(c, placeholder(k)));
  });
  // Positional placeholders (SQLite's ?) must appear in the order of the values.
  if (keys.length && !columns.slice(columns.length - keys.length).every((c) => c.startsWith(EXTRA_PREFIX))) {
    throw new Error('extra keys must come last in an instance update');
  }
  if (keys.length) sets.push(`extra = ${setExtraKeys(keys)}`);
  return sets.join(', ');
}

/** Columns an update writes only while they are empty: a later write keeps the first value. */
const SET_ONCE_COLUMNS = new Set(['launched_at']);

/** `column = value` for an UPDATE's SET list, in either dialect's placeholder. */
const setColumn = (column: string, placeholder: string): string =>
  SET_ONCE_COLUMNS.has(column) ? `${column} = COALESCE(${column}, ${placeholder})` : `${column} = ${placeholder}`;

export function stepFromRow(r: Row): StepRecord {
  return {
    index: num(r.idx),
    name: String(r.name),
    status: String(r.status) as StepStatus,
    beginAt: numOrNull(r.begin_at),
    endAt: numOrNull(r.end_at),
    errorCode: strOrNull(r.error_code),
  };
}

export function taskFromRow(r: Row, steps: StepRecord[]): TaskRecord {
  return {
    id: String(r.id),
    projectId: String(r.project_id),
    instanceId: String(r.instance_id),
    instanceName: String(r.instance_name),
    name: String(r.name),
    details: json(r.details),
    userId: String(r.user_id),
    userName: String(r.user_name),
    params: String(r.params),
    status: String(r.status) as TaskStatus,
    errorCode: strOrNull(r.error_code),
    failReason: strOrNull(r.fail_reason),
    state: json(r.state),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    leaseOwner: strOrNull(r.lease_owner),
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    attempts: num(r.attempts),
    steps,
  };
}

export function auditFromRow(r: Row): AuditRecord {
  return {
    id: num(r.id),
    projectId: String(r.project_id),
    taskId: String(r.task_id),
    instanceId: String(r.instance_id),
    taskName: String(r.task_name),
    lastStatus: String(r.last_status) as TaskStatus,
    actorId: String(r.actor_id),
    actorName: String(r.actor_name),
    message: strOrNull(r.message),
    deletedAt: num(r.deleted_at),
  };
}

/** Groups step rows by task id, in step order. */
export function groupSteps(rows: Row[]): Map<string, StepRecord[]> {
  const m = new Map<string, StepRecord[]>();
  for (const r of rows) {
    const id = String(r.task_id);
    let list = m.get(id);
    if (!list) m.set(id, (list = []));
    list.push(stepFromRow(r));
  }
  for (const list of m.values()) list.sort((a, b) => a.index - b.index);
  return m;
}

export function tokenFromRow(r: Row): TokenRecord {
  return { hash: String(r.hash), accessKey: String(r.access_key), expiresAt: num(r.expires_at), createdAt: num(r.created_at) };
}

export function credentialFromRow(r: Row): CredentialRecord {
  return {
    accessKey: String(r.access_key), secretKey: String(r.secret_key), projectId: String(r.project_id),
    userId: String(r.user_id), userName: String(r.user_name), role: r.role === 'readonly' ? 'readonly' : 'admin',
  };
}

/** Tasks oldest first (UPDATE … RETURNING gives rows in no particular order). */
export function sortedByAge(tasks: TaskRecord[]): TaskRecord[] {
  return tasks.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The first of `ports` that a stored managed instance holds (`rows`, of managedNodes): on one of
 * its nodes, or reserved by its port change (`extra.reserved_port`, see RESERVED_PORT_KEY).
 */
export function portTakenBy(ports: number[], rows: Record<string, unknown>[]): number | null {
  const held = heldPortsOf(rows);
  return ports.find((port) => held.has(port)) ?? null;
}

/** The ports managed instances hold (`rows`, of managedNodes): their nodes', and live claims. */
export function heldPortsOf(rows: Record<string, unknown>[]): Set<number> {
  const held = new Set<number>();
  for (const r of rows) {
    for (const n of JSON.parse(String(r.nodes)) as { port: number }[]) held.add(n.port);
    if (r.reserved_port !== null && r.reserved_port !== undefined) held.add(Number(r.reserved_port));
  }
  return held;
}
