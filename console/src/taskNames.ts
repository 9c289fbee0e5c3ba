/** What each DCS task name means, in words (api.md "Task names"); the raw name is shown beside it. */
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
  backupRecord: 'Backup',
  restoreRecord: 'Restore from a backup',
};

/** "Restart" for restartInstance; an unknown (newer) name is shown as it is. */
export const taskLabel = (name: string): string => TASK_LABELS[name] ?? name;
