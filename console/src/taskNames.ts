/** What each task name of the task centre means, in words (api.md "Task names"); the raw name is shown beside it. */
export const TASK_LABELS: Record<string, string> = {
  restartInstance: 'Restart',
  softRestartInstance: 'Soft restart',
  flushInstance: 'Flush data',
  modify: 'Change password',
  modifyConfigs: 'Change configuration',
  EXTEND: 'Resize',
  AddReplica: 'Add replica',
  DelReplica: 'Remove replica',
  masterStandbySwapJob: 'Master/standby switchover',
  UpdatePort: 'Change port',
  resetPassword: 'Reset password',
  CreateAcl: 'Create ACL account',
  UpdateAclRole: 'Change ACL account role',
  UpdateAclPassword: 'Change ACL account password',
  ResetAclPassword: 'Reset ACL account password',
  UpdateAclRemark: 'Change ACL account description',
  DeleteAcl: 'Delete ACL account',
  createMigrationTask: 'Data migration',
};

/** Names of records' tasks (backups, restores, scans): shown in their own tabs, never in the task centre. */
export const RECORD_LABELS: Record<string, string> = {
  backupRecord: 'Backup',
  restoreRecord: 'Restore from a backup',
  expireKeyScan: 'Expired-key scan',
};

/** "Restart" for restartInstance; an unknown (newer) name is shown as it is. */
export const taskLabel = (name: string): string => TASK_LABELS[name] ?? RECORD_LABELS[name] ?? name;
