/**
 * Request and response shapes of the DCS background-task API, as the wire spells them
 * (snake_case, spec/api.md). Written by hand rather than generated from /openapi.json so that
 * they read like the contract; test/client/openapi.test.ts checks the service against both.
 */

export type TaskStatus = 'CREATED' | 'WAITING' | 'EXECUTING' | 'SUCCESS' | 'FAILED';

/** Task names used by DCS (api.md, "Task names"). */
export type TaskName =
  | 'restartInstance' | 'softRestartInstance' | 'flushInstance' | 'modify' | 'modifyConfigs'
  | 'EXTEND' | 'AddReplica' | 'DelReplica' | 'masterStandbySwapJob' | 'UpdatePort';

export interface Task {
  id: string;
  /** A TaskName; typed as string so a newer service's operations still parse. */
  name: TaskName | (string & {});
  details: Record<string, unknown>;
  user_name: string;
  user_id: string;
  /** JSON text of the request parameters, secrets removed. */
  params: string;
  status: TaskStatus;
  created_at: string;
  updated_at: string;
  enable_show: boolean;
}

export interface TaskList {
  /** Total number of matching tasks, as a string (DCS does so). */
  task_count: string;
  tasks: Task[];
}

/** A task as the task centre shows it. */
export interface CentreTask extends Task {
  error_code: string | null;
  job_id: string;
  instance_id: string;
  instance_name: string;
}

export interface CentreTaskList {
  task_count: string;
  tasks: CentreTask[];
}

/** Paging and time window of the task lists. Times: `yyyyMMddHHmmss` UTC or a Date. */
export interface TaskQuery {
  offset?: number;
  limit?: number;
  start_time?: string | Date;
  end_time?: string | Date;
}

export type StepStatus = 'WAITING' | 'EXECUTING' | 'FINISH' | 'FAILED';

export interface StepDetail {
  step_id: string;
  step_name: string;
  step_status: StepStatus;
  begin_time: string | null;
  end_time: string | null;
  error_code: string | null;
  sub_step_details: unknown[];
}

export interface TaskProgress {
  /** Integer percent, 100 once finished. */
  progress: number;
  /** Whole seconds, 0 when finished. */
  remain_time: number;
  step_details: StepDetail[];
}

export type JobStatus = 'INIT' | 'RUNNING' | 'SUCCESS' | 'FAIL';

export interface Job {
  job_id: string;
  /** The task name. */
  job_type: string;
  status: JobStatus;
  /** Epoch milliseconds, as a string. */
  begin_time: string;
  end_time: string | null;
  fail_reason: string | null;
}

export interface DeleteResult {
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Instances

// Request bodies of the operations come from their modules (the registry's endpoints validate
// exactly these); type-only, so nothing of the server reaches a bundle.
export type { InstanceAction } from '../operations/instance-status.js';
export type { PasswordChangeRequest } from '../operations/password.js';
export type { ConfigChange as RedisConfigChange } from '../instances/rules.js';
export type { ResizeRequest } from '../operations/resize.js';
export type { ModifyInstanceRequest } from '../operations/port.js';

export type { EngineVersion, CreateInstance as CreateInstanceRequest } from '../instances/schemas.js';

export interface CreateInstanceResult {
  order_id: null;
  instances: { instance_id: string; instance_name: string }[];
}

export interface InstanceNode {
  name: string;
  port: number;
  role: 'master' | 'replica';
}

export interface Instance {
  instance_id: string;
  name: string;
  engine: string;
  engine_version: string;
  /** Whole GB; 0 below 1 GB (see capacity_minor). */
  capacity: number;
  /** Below 1 GB the size, e.g. "0.125"; else "". */
  capacity_minor: string;
  /** MB. */
  max_memory: number;
  /** MB, INFO memory. */
  used_memory: number;
  ip: string;
  port: number;
  /** CREATING, CREATEFAILED, RUNNING, RESTARTING, FLUSHING, EXTENDING, ERROR, … */
  status: string;
  /** The running background task, null when idle (what automation waits on). */
  task: { id: string; name: string; status: TaskStatus; created_at: string } | null;
  /** Redis processes: the master and its replicas. */
  replica_count: number;
  cache_mode: 'single' | 'ha';
  /** "true" / "false", a string as in DCS. */
  no_password_access: string;
  attached: boolean;
  spec_code: string;
  description: string;
  created_at: string;
  tags: { key: string; value: string }[];
  nodes: InstanceNode[];
  /** The other ShowInstanceResponse fields (automation.md §3.4). */
  [field: string]: unknown;
}

/** ListInstancesRequest's filters (automation.md §3.1). */
export interface InstanceQuery {
  instance_id?: string;
  name?: string;
  name_equal?: boolean;
  status?: string;
  include_failure?: boolean;
  ip?: string;
  tags?: string;
  offset?: number;
  limit?: number;
}

/** One parameter of GET /instances/{id}/configs (QueryRedisConfig). */
export interface RedisParameter {
  param_id: string;
  param_name: string;
  param_value: string;
  default_value: string;
  value_type: string;
  value_range: string;
  description: string;
  need_restart: boolean;
}

export interface InstanceConfigurations {
  instance_id: string;
  config_status: string;
  status: string;
  config_time: string;
  redis_config: RedisParameter[];
}

/** AclAccountResp. */
export interface AclAccount {
  account_id: string;
  account_name: string;
  account_type: 'normal' | 'default';
  instance_id: string;
  status: string;
  account_role: 'read' | 'write';
  description: string;
  error_code: string | null;
}

export interface InstanceList {
  instance_num: number;
  instances: Instance[];
}

export interface InstanceActionResult {
  results: { instance: string; result: 'success' | 'failed' }[];
}

export interface PasswordChangeResult {
  result: 'success' | 'passwordFailed' | 'locked' | 'failed';
  message: string;
  lock_time?: string;
  lock_time_left?: string;
  retry_times_left?: string;
}

/** What an operation that starts a task answers. */
export interface JobAccepted {
  /** The task id. */
  job_id: string;
}

export interface IssuedToken {
  token: string;
  /** ISO-8601 UTC. */
  expires_at: string;
}

// ---------------------------------------------------------------------------------------------
// Deletion audit (an addition: GET /v2/{project_id}/task-audit)

/** Who deleted which task, when, and why. */
export interface TaskAudit {
  task_id: string;
  instance_id: string;
  task_name: string;
  /** The task's status when it was deleted (SUCCESS or FAILED). */
  last_status: string;
  user_id: string;
  user_name: string;
  /** The message given with the delete ("" when none). */
  message: string;
  /** ISO-8601 UTC. */
  deleted_at: string;
}

export interface TaskAuditList {
  /** Total number of audit records of the project, as a string (like task_count). */
  count: string;
  audits: TaskAudit[];
}
