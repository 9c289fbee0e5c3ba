/** Wire format: records as the DCS API spells them. */
import type { InstanceRecord } from '../instances/records.js';
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

export function instanceView(i: InstanceRecord) {
  return {
    instance_id: i.id,
    name: i.name,
    engine: i.engine,
    engine_version: i.engineVersion,
    capacity: i.capacityGb,
    max_memory: Math.round(i.capacityGb * 1024),
    ip: i.host,
    port: i.port,
    status: i.status,
    no_password_access: String(i.password === null),
    attached: !i.managed,
    spec_code: (i.extra.spec_code as string | null | undefined) ?? null,
    description: (i.extra.description as string | null | undefined) ?? null,
    created_at: iso(i.createdAt),
    replica_num: i.nodes.filter((n) => n.role === 'replica').length,
    nodes: i.nodes.map((n) => ({ name: n.name, port: n.port, role: n.role })),
  };
}
