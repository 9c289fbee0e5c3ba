/**
 * JSON schemas shared by the routes. They validate requests (Fastify/Ajv, no type coercion) and
 * document them in /openapi.json. Which DCS code a failed check maps to is decided by the
 * parameter name in http/errors.ts.
 */
export const PROJECT_ID = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Project ID' } as const;
import { INSTANCE_ID } from '../instances/schemas.js';

export { INSTANCE_ID };
export const TASK_ID = { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'Task ID (32 lowercase hex)' } as const;

/** Route configs: every DCS route is authenticated; changes are refused to read-only credentials. */
export const READS = { dcs: true } as const;
export const CHANGES = { dcs: true, mutating: true } as const;

export function pathParams(...names: ('project_id' | 'instance_id' | 'task_id' | 'job_id' | 'account_id')[]) {
  const all = { project_id: PROJECT_ID, instance_id: INSTANCE_ID, task_id: TASK_ID, job_id: TASK_ID, account_id: { type: 'string', description: 'ACL account ID (no length limit of its own: a longer one names no account, answered after the instance is found)' } };
  return {
    type: 'object',
    required: names,
    properties: Object.fromEntries(names.map((n) => [n, all[n]])),
  } as const;
}

export const TASK_WINDOW_QUERY = {
  type: 'object',
  properties: {
    offset: { type: 'string', description: 'Offset, >= 0 (default 0)' },
    limit: { type: 'string', description: 'Page size, 1-1000 (default 10)' },
    start_time: { type: 'string', description: 'yyyyMMddHHmmss UTC, inclusive' },
    end_time: { type: 'string', description: 'yyyyMMddHHmmss UTC, inclusive (whole second)' },
  },
} as const;

export const ERROR_BODY = {
  type: 'object',
  required: ['error_code', 'error_msg', 'error_ext_msg'],
  properties: {
    error_code: { type: 'string', maxLength: 9 },
    error_msg: { type: 'string', maxLength: 1024 },
    error_ext_msg: { type: 'null' },
  },
} as const;

const ISO = { type: 'string', description: 'ISO-8601 UTC with milliseconds' } as const;

/**
 * A response schema whose every property is always sent: `required` lists them all, so the
 * OpenAPI document tells clients what they can count on (and the serializer refuses to send a
 * body that lacks one rather than silently omit it).
 */
export function complete<T extends { properties: Record<string, unknown> }>(s: T): T & { required: string[] } {
  return { ...s, required: Object.keys(s.properties) };
}

export const TASK = complete({
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
    user_name: { type: 'string' },
    user_id: { type: 'string' },
    params: { type: 'string' },
    status: { type: 'string', enum: ['CREATED', 'WAITING', 'EXECUTING', 'SUCCESS', 'FAILED'] },
    created_at: ISO,
    updated_at: ISO,
    enable_show: { type: 'boolean' },
  },
} as const);

export const CENTRE_TASK = complete({
  type: 'object',
  properties: {
    ...TASK.properties,
    error_code: { type: ['string', 'null'] },
    job_id: { type: 'string' },
    instance_id: { type: 'string' },
    instance_name: { type: 'string' },
  },
} as const);

export const DELETE_RESULT = complete({ type: 'object', properties: { message: { type: 'string' } } } as const);

const STR = { type: 'string' } as const;
const INT = { type: 'integer' } as const;
const BOOL = { type: 'boolean' } as const;

/** ShowInstanceResponse with automation.md §3.4's types; `nodes` and `attached` are additions. */
const INSTANCE_FIELDS = {
  instance_id: STR, name: STR, description: STR, engine: STR, engine_version: STR, spec_code: STR,
  capacity: { type: 'number' }, capacity_minor: STR, max_memory: INT, used_memory: INT,
  ip: STR, domain_name: STR, readonly_domain_name: STR, port: INT, status: STR, sub_status: STR,
  task: {
    type: ['object', 'null'], description: 'null when idle; the running task when busy',
    required: ['id', 'name', 'status', 'created_at'],
    properties: { id: STR, name: STR, status: STR, created_at: ISO },
  },
  replica_count: INT, sharding_count: INT, cache_mode: STR, product_type: STR, storage_type: STR, cpu_type: STR,
  charging_mode: INT, enable_ssl: BOOL, enable_publicip: BOOL, service_upgrade: BOOL, transparent_client_ip_enable: BOOL,
  no_password_access: STR, access_user: STR, user_id: STR, user_name: STR, maintain_begin: STR, maintain_end: STR,
  created_at: ISO, launched_at: { type: 'string', description: 'when the instance first ran: ISO-8601 UTC with milliseconds; "" until then' },
  update_at: ISO, updated_at: ISO,
  vpc_id: STR, vpc_name: STR, subnet_id: STR, subnet_name: STR, subnet_cidr: STR, security_group_id: STR, security_group_name: STR,
  enterprise_project_id: STR, az_codes: { type: 'array', items: STR },
  tags: { type: 'array', items: complete({ type: 'object', properties: { key: STR, value: STR } } as const) },
  features: complete({ type: 'object', properties: { support_acl: BOOL, support_transparent_client_ip: BOOL, support_ssl: BOOL, support_audit_log: BOOL } } as const),
  attached: BOOL,
  nodes: {
    type: 'array',
    items: complete({ type: 'object', properties: { name: STR, port: INT, role: { type: 'string', enum: ['master', 'replica'] } } } as const),
  },
} as const;

export const INSTANCE = complete({ type: 'object', properties: INSTANCE_FIELDS } as const);

/** Response schemas per status code: every error status shares the one error body. */
export function responses(ok: Record<number, unknown>) {
  return { ...ok, 400: ERROR_BODY, 401: ERROR_BODY, 403: ERROR_BODY, 404: ERROR_BODY, 500: ERROR_BODY };
}
