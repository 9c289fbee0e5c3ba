/**
 * DcsTasksClient: one method per route of spec/api.md, typed. Works in Node 20+ and browsers
 * (fetch + Web Crypto). Errors: DcsApiError (the service said no) or DcsNetworkError (no answer).
 */
import { Transport, type DcsTasksClientOptions, type Query } from './transport.js';
import type {
  AclAccount, InstanceConfigurations, InstanceQuery,
  CentreTaskList, CreateInstanceRequest, CreateInstanceResult, DeleteResult, Instance, InstanceAction,
  InstanceActionResult, InstanceList, IssuedToken, Job, JobAccepted, ModifyInstanceRequest, PasswordChangeRequest,
  PasswordChangeResult, RedisConfigChange, ResizeRequest, TaskAuditList, TaskList, TaskProgress, TaskQuery,
} from './types.js';
import type {
  ConfigureMigrationRequest, CreateMigrationTaskRequest, CreateOnlineMigrationRequest, CreateOnlineMigrationResult, Migration,
  MigrationBatchResult, MigrationList, MigrationLogList, MigrationQuery, MigrationStarted, MigrationStats,
} from './migration-types.js';
import type {
  Backup, BackupLinks, BackupList, CreateBackupRequest, DailyAutoscanConfig, ExpireAutoscanConfig, ExpireScan, ExpireScanHistory, KeyAnalysis,
  KeyAnalysisKind, KeyAnalysisList, RecordQuery, RestoreList, ScanQuery,
} from './record-types.js';

/** yyyyMMddHHmmss in UTC, the query-string time format of the task lists. */
export function formatQueryTime(t: string | Date): string {
  return typeof t === 'string' ? t : t.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** One page and a time window; the two lists name their window differently. */
function windowQuery(q: { offset?: number; limit?: number }, names: [string, string], from?: string | Date, to?: string | Date): Query {
  return {
    offset: q.offset,
    limit: q.limit,
    [names[0]]: from === undefined ? undefined : formatQueryTime(from),
    [names[1]]: to === undefined ? undefined : formatQueryTime(to),
  };
}

const taskQuery = (q: TaskQuery = {}): Query => windowQuery(q, ['start_time', 'end_time'], q.start_time, q.end_time);
const recordQuery = (q: RecordQuery = {}): Query => windowQuery(q, ['begin_time', 'end_time'], q.begin_time, q.end_time);

export class DcsTasksClient {
  private readonly t: Transport;

  constructor(options: DcsTasksClientOptions) {
    this.t = new Transport(options);
  }

  get projectId(): string {
    return this.t.projectId;
  }

  // --- background tasks of an instance --------------------------------------------------------

  /** GET /instances/{id}/tasks: newest first. */
  listTasks(instanceId: string, query?: TaskQuery): Promise<TaskList> {
    return this.t.send({ method: 'GET', segments: ['instances', instanceId, 'tasks'], query: taskQuery(query) });
  }

  /** GET /instances/{id}/tasks/{task_id}/progress */
  getTaskProgress(instanceId: string, taskId: string): Promise<TaskProgress> {
    return this.t.send({ method: 'GET', segments: ['instances', instanceId, 'tasks', taskId, 'progress'] });
  }

  /** DELETE /instances/{id}/tasks/{task_id}: finished tasks only (else DCS.4017). */
  deleteTask(instanceId: string, taskId: string): Promise<DeleteResult> {
    return this.t.send({ method: 'DELETE', segments: ['instances', instanceId, 'tasks', taskId] });
  }

  // --- task centre and jobs ---------------------------------------------------------------

  /** GET /tasks: every task of the project. */
  listCentreTasks(query?: TaskQuery): Promise<CentreTaskList> {
    return this.t.send({ method: 'GET', segments: ['tasks'], query: taskQuery(query) });
  }

  /** DELETE /tasks/{task_id}, with an optional reason kept in the audit record. */
  deleteCentreTask(taskId: string, message?: string): Promise<DeleteResult> {
    return this.t.send({ method: 'DELETE', segments: ['tasks', taskId], body: message === undefined ? undefined : { message } });
  }

  /** GET /jobs/{job_id}: a task by id, without knowing its instance. */
  getJob(jobId: string): Promise<Job> {
    return this.t.send({ method: 'GET', segments: ['jobs', jobId] });
  }

  /** GET /task-audit (an addition): who deleted which task, newest first, paged. */
  listTaskAudit(query: { offset?: number; limit?: number } = {}): Promise<TaskAuditList> {
    return this.t.send({ method: 'GET', segments: ['task-audit'], query: { offset: query.offset, limit: query.limit } });
  }

  // --- instances ------------------------------------------------------------------------------

  createInstance(body: CreateInstanceRequest): Promise<CreateInstanceResult> {
    return this.t.send({ method: 'POST', segments: ['instances'], body });
  }

  /** GET /instances: filters and one page; `instance_num` counts every match. */
  listInstances(q: InstanceQuery = {}): Promise<InstanceList> {
    const query: Query = {
      ...q,
      name_equal: q.name_equal === undefined ? undefined : String(q.name_equal),
      include_failure: q.include_failure === undefined ? undefined : String(q.include_failure),
    };
    return this.t.send({ method: 'GET', segments: ['instances'], query });
  }

  /** GET /instances/{id}/configs: the parameters and their values in Redis now. */
  getConfigurations(instanceId: string): Promise<InstanceConfigurations> {
    return this.t.send({ method: 'GET', segments: ['instances', instanceId, 'configs'] });
  }

  /** PUT /instances/{id}/async-configs: task "modifyConfigs", answered with its job id. */
  modifyConfigsAsync(instanceId: string, changes: RedisConfigChange[]): Promise<JobAccepted> {
    return this.t.send({ method: 'PUT', segments: ['instances', instanceId, 'async-configs'], body: { redis_config: changes } });
  }

  /** PUT /instances/{id}/async-swap: master/standby switchover, answered with its job id. */
  swapInstanceAsync(instanceId: string): Promise<JobAccepted> {
    return this.t.send({ method: 'PUT', segments: ['instances', instanceId, 'async-swap'] });
  }

  /** GET /instances/{id}/accounts: the ACL accounts (the default one first). */
  async listAclAccounts(instanceId: string): Promise<AclAccount[]> {
    return (await this.t.send<{ accounts: AclAccount[] }>({ method: 'GET', segments: ['instances', instanceId, 'accounts'] })).accounts;
  }

  /** POST /instances/{id}/accounts: a Redis ACL user (task CreateAcl; CREATING → AVAILABLE). */
  async createAclAccount(instanceId: string, body: { account_name: string; account_role: 'read' | 'write'; account_password: string; description?: string }): Promise<void> {
    await this.t.send({ method: 'POST', segments: ['instances', instanceId, 'accounts'], body });
  }

  /** PUT …/accounts/{account_id}/role: task UpdateAclRole; answers its job id. */
  updateAclAccountRole(instanceId: string, accountId: string, role: 'read' | 'write'): Promise<{ instance_id: string; job_id: string }> {
    return this.t.send({ method: 'PUT', segments: ['instances', instanceId, 'accounts', accountId, 'role'], body: { account_role: role } });
  }

  /** PUT …/accounts/{account_id}/password/modify: the old password is required (task UpdateAclPassword). */
  async changeAclAccountPassword(instanceId: string, accountId: string, oldPassword: string, newPassword: string): Promise<void> {
    await this.t.send({ method: 'PUT', segments: ['instances', instanceId, 'accounts', accountId, 'password', 'modify'], body: { old_password: oldPassword, new_password: newPassword } });
  }

  /** PUT …/accounts/{account_id}/password/reset: a new password without the old one (task ResetAclPassword). */
  async resetAclAccountPassword(instanceId: string, accountId: string, newPassword: string): Promise<void> {
    await this.t.send({ method: 'PUT', segments: ['instances', instanceId, 'accounts', accountId, 'password', 'reset'], body: { new_password: newPassword } });
  }

  /** PUT …/accounts/{account_id}: the account's description (task UpdateAclRemark). */
  async updateAclAccountRemark(instanceId: string, accountId: string, description: string): Promise<void> {
    await this.t.send({ method: 'PUT', segments: ['instances', instanceId, 'accounts', accountId], body: { description } });
  }

  /** DELETE /instances/{id}/accounts/{account_id}: task DeleteAcl. */
  async deleteAclAccount(instanceId: string, accountId: string): Promise<void> {
    await this.t.send({ method: 'DELETE', segments: ['instances', instanceId, 'accounts', accountId] });
  }

  getInstance(instanceId: string): Promise<Instance> {
    return this.t.send({ method: 'GET', segments: ['instances', instanceId] });
  }

  /** DELETE /instances/{id}: stops its Redis; refused while one of its tasks runs (DCS.4099). */
  async deleteInstance(instanceId: string): Promise<void> {
    await this.t.send({ method: 'DELETE', segments: ['instances', instanceId] });
  }

  /** PUT /instances/{id}: name, description, maintenance window, security group at once; a new port starts task UpdatePort. */
  async modifyInstance(instanceId: string, body: ModifyInstanceRequest): Promise<void> {
    await this.t.send({ method: 'PUT', segments: ['instances', instanceId], body });
  }

  // --- operations (each becomes a background task) --------------------------------------------

  /** PUT /instances/status: one task per instance. */
  changeInstancesStatus(instanceIds: string[], action: InstanceAction): Promise<InstanceActionResult> {
    return this.t.send({ method: 'PUT', segments: ['instances', 'status'], body: { instances: instanceIds, action } });
  }

  restartInstances(instanceIds: string[]): Promise<InstanceActionResult> {
    return this.changeInstancesStatus(instanceIds, 'restart');
  }

  softRestartInstances(instanceIds: string[]): Promise<InstanceActionResult> {
    return this.changeInstancesStatus(instanceIds, 'soft_restart');
  }

  flushInstances(instanceIds: string[]): Promise<InstanceActionResult> {
    return this.changeInstancesStatus(instanceIds, 'flush');
  }

  /** PUT /instances/{id}/password: task "modify". */
  changePassword(instanceId: string, body: PasswordChangeRequest): Promise<PasswordChangeResult> {
    return this.t.send({ method: 'PUT', segments: ['instances', instanceId, 'password'], body });
  }

  /** PUT /instances/{id}/configs: task "modifyConfigs". */
  async modifyConfigs(instanceId: string, changes: RedisConfigChange[]): Promise<void> {
    await this.t.send({ method: 'PUT', segments: ['instances', instanceId, 'configs'], body: { redis_config: changes } });
  }

  /** POST /instances/{id}/resize: EXTEND, AddReplica or DelReplica. */
  resizeInstance(instanceId: string, body: ResizeRequest): Promise<JobAccepted> {
    return this.t.send({ method: 'POST', segments: ['instances', instanceId, 'resize'], body });
  }

  /** POST /instances/{id}/swap: master/standby switchover (needs a replica). */
  swapInstance(instanceId: string): Promise<JobAccepted> {
    return this.t.send({ method: 'POST', segments: ['instances', instanceId, 'swap'] });
  }

  // --- data migrations (automation.md §4) ---------------------------------------------------

  /** POST /migration/instance: an online migration, not yet configured (RUNNING), and its job. */
  createOnlineMigration(body: CreateOnlineMigrationRequest): Promise<CreateOnlineMigrationResult> {
    return this.t.send({ method: 'POST', segments: ['migration', 'instance'], body });
  }

  /** POST /migration/{task_id}/task: source, target and method; the copy starts (MIGRATING). */
  configureMigration(taskId: string, body: ConfigureMigrationRequest): Promise<MigrationStarted> {
    return this.t.send({ method: 'POST', segments: ['migration', taskId, 'task'], body });
  }

  /** POST /migration-task: an import of RDB files, or an online migration in one call. */
  createMigrationTask(body: CreateMigrationTaskRequest): Promise<MigrationStarted> {
    return this.t.send({ method: 'POST', segments: ['migration-task'], body });
  }

  listMigrations(query: MigrationQuery = {}): Promise<MigrationList> {
    return this.t.send({ method: 'GET', segments: ['migration-tasks'], query: { offset: query.offset, limit: query.limit, name: query.name } });
  }

  /** GET /migration-task/{id}; an unknown id is DCS.4133. */
  getMigration(taskId: string): Promise<Migration> {
    return this.t.send({ method: 'GET', segments: ['migration-task', taskId] });
  }

  getMigrationStats(taskId: string): Promise<MigrationStats> {
    return this.t.send({ method: 'GET', segments: ['migration-task', taskId, 'stats'] });
  }

  listMigrationLogs(taskId: string, query: { offset?: number; limit?: number; log_level?: 'INFO' | 'ERROR' } = {}): Promise<MigrationLogList> {
    return this.t.send({ method: 'GET', segments: ['migration-task', taskId, 'logs'], query });
  }

  /** POST /migration-task/{id}/stop: TERMINATING, then TERMINATED; what was copied stays. */
  stopMigration(taskId: string): Promise<Migration> {
    return this.t.send({ method: 'POST', segments: ['migration-task', taskId, 'stop'] });
  }

  /** POST /migration-task/{id}/sync-stop: ends the incremental phase (the task is SUCCESS). */
  async syncStopMigration(taskId: string): Promise<void> {
    await this.t.send({ method: 'POST', segments: ['migration-task', taskId, 'sync-stop'] });
  }

  batchStopMigrations(taskIds: string[]): Promise<MigrationBatchResult> {
    return this.t.send({ method: 'POST', segments: ['migration-task', 'batch-stop'], body: { migration_tasks: taskIds } });
  }

  /** Online migrations in TERMINATED, FAILED or SUCCESS run again with their settings. */
  batchRestartMigrations(taskIds: string[]): Promise<MigrationBatchResult> {
    return this.t.send({ method: 'POST', segments: ['migration-tasks', 'batch-restart'], body: { migration_tasks: taskIds } });
  }

  /** DELETE /migration-tasks/delete: all or nothing; a running migration is refused (DCS.4017). */
  deleteMigrations(taskIds: string[]): Promise<{ task_id_list: string[] }> {
    return this.t.send({ method: 'DELETE', segments: ['migration-tasks', 'delete'], body: { task_id_list: taskIds } });
  }

  // --- tokens ---------------------------------------------------------------------------------

  /** POST /tokens: a token for this AK/SK credential (60 s to 7 days), returned once. */
  createToken(ttlSeconds: number): Promise<IssuedToken> {
    return this.t.send({ method: 'POST', segments: ['tokens'], body: { ttl_seconds: ttlSeconds } });
  }

  // --- records: backups, restores, key analyses, expired-key scans (records.md) ---------------

  /** POST /instances/{id}/backups: the record exists at once, `waiting`. */
  createBackup(instanceId: string, body: CreateBackupRequest = {}): Promise<{ backup_id: string }> {
    return this.t.send({ method: 'POST', segments: ['instances', instanceId, 'backups'], body });
  }

  /** GET /instances/{id}/backups: every status, newest first. */
  listBackups(instanceId: string, query?: RecordQuery): Promise<BackupList> {
    return this.t.send({ method: 'GET', segments: ['instances', instanceId, 'backups'], query: recordQuery(query) });
  }

  /** One backup, found in the list (the API has no show route). */
  async getBackup(instanceId: string, backupId: string): Promise<Backup | undefined> {
    const { backup_record_response } = await this.listBackups(instanceId, { limit: 1000 });
    return backup_record_response.find((b) => b.backup_id === backupId);
  }

  /** DELETE /instances/{id}/backups/{backup_id}: the file goes, the record stays `deleted`. */
  async deleteBackup(instanceId: string, backupId: string): Promise<void> {
    await this.t.send({ method: 'DELETE', segments: ['instances', instanceId, 'backups', backupId] });
  }

  /** POST /instances/{id}/backups/{backup_id}/links: a signed link, valid `expiration` seconds (300-86400). */
  getBackupLinks(instanceId: string, backupId: string, expiration: number): Promise<BackupLinks> {
    return this.t.send({ method: 'POST', segments: ['instances', instanceId, 'backups', backupId, 'links'], body: { expiration } });
  }

  /** POST /instances/{id}/restores: the instance's data becomes the backup's. */
  restoreInstance(instanceId: string, body: { backup_id: string; remark?: string }): Promise<{ restore_id: string }> {
    return this.t.send({ method: 'POST', segments: ['instances', instanceId, 'restores'], body });
  }

  listRestores(instanceId: string, query?: RecordQuery): Promise<RestoreList> {
    return this.t.send({ method: 'GET', segments: ['instances', instanceId, 'restores'], query: recordQuery(query) });
  }

  /** POST /instances/{id}/bigkey-task or …/hotkey-task (no body). */
  createKeyAnalysis(kind: KeyAnalysisKind, instanceId: string): Promise<KeyAnalysis> {
    return this.t.send({ method: 'POST', segments: ['instances', instanceId, `${kind}-task`] });
  }

  listKeyAnalyses(kind: KeyAnalysisKind, instanceId: string, query: ScanQuery = {}): Promise<KeyAnalysisList> {
    return this.t.send({ method: 'GET', segments: ['instances', instanceId, `${kind}-tasks`], query: { ...query } });
  }

  getKeyAnalysis(kind: KeyAnalysisKind, instanceId: string, id: string): Promise<KeyAnalysis> {
    return this.t.send({ method: 'GET', segments: ['instances', instanceId, `${kind}-task`, id] });
  }

  /** DELETE a finished analysis; the answer is the record as it was. */
  deleteKeyAnalysis(kind: KeyAnalysisKind, instanceId: string, id: string): Promise<KeyAnalysis> {
    return this.t.send({ method: 'DELETE', segments: ['instances', instanceId, `${kind}-task`, id] });
  }

  getKeyAnalysisAutoscan(kind: KeyAnalysisKind, instanceId: string): Promise<DailyAutoscanConfig> {
    return this.t.send({ method: 'GET', segments: ['instances', instanceId, kind, 'autoscan'] });
  }

  /** PUT …/{bigkey|hotkey}/autoscan: every day at each `schedule_at` (HH:mm UTC). */
  updateKeyAnalysisAutoscan(kind: KeyAnalysisKind, instanceId: string, body: { enable_auto_scan: boolean; schedule_at: string[] }): Promise<DailyAutoscanConfig> {
    return this.t.send({ method: 'PUT', segments: ['instances', instanceId, kind, 'autoscan'], body });
  }

  /** POST /instances/{id}/scan-expire-keys-task (no body): SCAN releases the expired keys. */
  createExpireScan(instanceId: string): Promise<Omit<ExpireScan, 'num'>> {
    return this.t.send({ method: 'POST', segments: ['instances', instanceId, 'scan-expire-keys-task'] });
  }

  /** GET /instances/{id}/auto-expire/histories */
  listExpireScans(instanceId: string, query: ScanQuery = {}): Promise<ExpireScanHistory> {
    return this.t.send({ method: 'GET', segments: ['instances', instanceId, 'auto-expire', 'histories'], query: { ...query } });
  }

  getExpireAutoscan(instanceId: string): Promise<ExpireAutoscanConfig> {
    return this.t.send({ method: 'GET', segments: ['instances', instanceId, 'scan-expire-keys', 'autoscan-config'] });
  }

  updateExpireAutoscan(instanceId: string, body: Partial<Omit<ExpireAutoscanConfig, 'instance_id' | 'updated_at'>>): Promise<ExpireAutoscanConfig> {
    return this.t.send({ method: 'PUT', segments: ['instances', instanceId, 'scan-expire-keys', 'autoscan-config'], body });
  }
}
