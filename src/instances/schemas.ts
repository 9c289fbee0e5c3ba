/** JSON schemas of instance fields that requests carry, shared by the routes and the operations. */
export const INSTANCE_ID = {
  type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', description: 'Instance ID (lowercase UUID)',
} as const;

/** DCS's rule: Chinese characters count as letters (the provider's documentation allows them). */
export const INSTANCE_NAME = {
  type: 'string', pattern: '^[A-Za-z\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5_-]{3,63}$',
  description: '4-64 characters, starts with a letter or a Chinese character; letters, Chinese characters, digits, - and _',
} as const;

export const CAPACITY_GB = { type: 'number', exclusiveMinimum: 0, maximum: 1024, description: 'GB' } as const;

export const PORT = { type: 'integer', minimum: 1024, maximum: 65535 } as const;

/** maintain_begin / maintain_end: a time of day, UTC (ModifyInstanceBody, CreateInstanceBody). */
export const MAINTAIN_TIME = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$', description: 'HH:mm:ss, UTC' } as const;

/** ENGINE_VERSIONS of rules.ts, as a type. */
export type EngineVersion = '4.0' | '5.0' | '6.0' | '7.0';

/** The body of POST /v2/{project_id}/instances (the client re-exports it as CreateInstanceRequest). */
export interface CreateInstance {
  name: string;
  engine: 'Redis';
  engine_version: EngineVersion;
  /** GB; sets maxmemory. */
  capacity: number;
  password?: string;
  no_password_access?: boolean;
  port?: number;
  /** Addition: attach an existing Redis instead of starting one. */
  redis_url?: string;
  spec_code?: string;
  description?: string;
  /** DCS cloud-network fields (vpc_id, subnet_id, tags, …): echoed back on show, otherwise ignored. */
  [echoed: string]: unknown;
}
