/** Wire format: records as the DCS API spells them. */
import type { InstanceRecord } from '../instances/records.js';
import type { AclAccount } from '../instances/acl.js';
import { tagsOf, visibleStatus, type InstanceState, type RunningTask } from '../instances/listing.js';
import { AVAILABILITY_ZONE, CPU_TYPE, cacheModeOf } from '../instances/flavors.js';
import type { TaskRecord } from '../tasks/records.js';

const iso = (ms: number) => new Date(ms).toISOString();

export function taskView(t: TaskRecord) {
  return {
    id: t.id,
    name: t.name,
    details: t.details,
    user_name: t.userName,
    user_id: t.userId,
    params: t.params,
    status: t.status,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
    enable_show: t.steps.length > 0,
  };
}

export function centreTaskView(t: TaskRecord) {
  return { ...taskView(t), error_code: t.errorCode, job_id: t.id, instance_id: t.instanceId, instance_name: t.instanceName };
}

export function progressView(t: TaskRecord, progress: number, remainTime: number) {
  return {
    progress,
    remain_time: remainTime,
    step_details: t.steps.map((s) => ({
      step_id: String(s.index + 1),
      step_name: s.name,
      step_status: s.status,
      begin_time: s.beginAt === null ? null : iso(s.beginAt),
      end_time: s.endAt === null ? null : iso(s.endAt),
      error_code: s.errorCode,
      sub_step_details: [],
    })),
  };
}

const JOB_STATUS = { CREATED: 'INIT', WAITING: 'INIT', EXECUTING: 'RUNNING', SUCCESS: 'SUCCESS', FAILED: 'FAIL' } as const;

export function jobView(t: TaskRecord) {
  return {
    job_id: t.id,
    job_type: t.name,
    status: JOB_STATUS[t.status],
    begin_time: String(t.startedAt ?? t.createdAt),
    end_time: t.finishedAt === null ? null : String(t.finishedAt),
    fail_reason: t.failReason,
  };
}

const str = (v: unknown, def = ''): string => (typeof v === 'string' ? v : def);

/** The wire shape of the instance `task` field: null when idle (automation.md §1.1, Decision 1). */
function runningTaskView(t: RunningTask | null) {
  return t && { id: t.id, name: t.name, status: t.status, created_at: iso(t.createdAt) };
}

/**
 * ShowInstanceResponse / InstanceListInfo with automation.md §3.4's JSON types (the Terraform
 * provider type-asserts several). `nodes` and `attached` are additions.
 */
export function instanceView(s: InstanceState, usedMemoryMb = 0) {
  const i = s.instance;
  const e = i.extra;
  const whole = i.capacityGb >= 1;
  return {
    instance_id: i.id,
    name: i.name,
    description: str(e.description),
    engine: i.engine,
    engine_version: i.engineVersion,
    spec_code: str(e.spec_code),
    capacity: whole ? Math.floor(i.capacityGb) : 0,
    capacity_minor: whole ? '' : String(i.capacityGb),
    max_memory: Math.floor(i.capacityGb * 1024),
    used_memory: usedMemoryMb,
    ip: i.host,
    domain_name: i.host,
    readonly_domain_name: '',
    port: i.port,
    status: visibleStatus(s),
    // DCS's sub-status names states this service does not have (SSL or public access being opened…).
    sub_status: 'normal',
    task: runningTaskView(s.task),
    replica_count: i.managed ? i.nodes.length : 1,
    sharding_count: 1,
    cache_mode: cacheModeOf(i),
    product_type: 'generic',
    storage_type: 'DRAM',
    cpu_type: CPU_TYPE,
    charging_mode: 0,
    enable_ssl: false,
    enable_publicip: false,
    service_upgrade: false,
    transparent_client_ip_enable: false,
    no_password_access: String(i.password === null),
    access_user: str(e.access_user),
    user_id: str(e.user_id),
    user_name: str(e.user_name),
    maintain_begin: str(e.maintain_begin, '18:00:00'),
    maintain_end: str(e.maintain_end, '19:00:00'),
    created_at: iso(i.createdAt),
    launched_at: i.launchedAt === null ? '' : iso(i.launchedAt), // empty until it first runs
    update_at: iso(i.updatedAt),
    updated_at: iso(i.updatedAt),
    vpc_id: str(e.vpc_id),
    vpc_name: str(e.vpc_name),
    subnet_id: str(e.subnet_id),
    subnet_name: str(e.subnet_name),
    subnet_cidr: str(e.subnet_cidr),
    security_group_id: str(e.security_group_id),
    security_group_name: str(e.security_group_name),
    enterprise_project_id: str(e.enterprise_project_id, '0'),
    az_codes: Array.isArray(e.az_codes) ? (e.az_codes as string[]) : [AVAILABILITY_ZONE.code],
    tags: tagsOf(i),
    // Features: the account routes (Redis ACL users) are served for every instance; SSL, transparent client IP and audit logs are not.
    features: { support_acl: true, support_transparent_client_ip: false, support_ssl: false, support_audit_log: false },
    attached: !i.managed,
    nodes: i.nodes.map((n) => ({ name: n.name, port: n.port, role: n.role })),
  };
}

/** AclAccountResp. */
export function aclAccountView(i: InstanceRecord, a: AclAccount) {
  return {
    account_id: a.id, account_name: a.name, account_type: 'normal', instance_id: i.id, status: a.status, account_role: a.role,
    description: a.description, error_code: null,
  };
}

/** The instance's own account (Redis's `default` user), which DCS lists first; its id is the instance id. */
export function defaultAccountView(i: InstanceRecord) {
  return {
    account_id: i.id, account_name: 'default', account_type: 'default', instance_id: i.id, status: 'AVAILABLE', account_role: 'write',
    description: '', error_code: null,
  };
}
