/** The wire shapes the console shows (api.md), as the pages use them. */

import type { CentreTask, Instance, StepDetail, Task as InstanceTask, TaskAudit, TaskProgress, TaskStatus } from '../../src/client/types.js';

export type {
  Backup, ExpireScan, FoundKey, KeyAnalysis, KeyAnalysisEntry, KeyAnalysisKind, Migration, MigrationListItem, MigrationStats, Restore,
} from '../../src/client/index.js';

// The wire shapes are the typed client's; the console adds only its own page state below.
export type { Instance, TaskAudit, TaskStatus };
export type Step = StepDetail;
export type Progress = TaskProgress;
/** A task from either list: the task centre's entries also name their instance. */
export type Task = InstanceTask & Partial<Pick<CentreTask, 'instance_id' | 'instance_name' | 'error_code'>>;

export interface TaskPage {
  total: number;
  tasks: Task[];
  /** Filtered in the browser over the newest FILTER_SCAN tasks only (more exist in the range). */
  capped?: boolean;
}

/** Paging and the task centre's time range (query strings as api.md spells them). */
export interface TaskQuery {
  offset: number;
  limit: number;
  start_time?: string;
  end_time?: string;
}

export const isRunning = (s: TaskStatus) => s !== 'SUCCESS' && s !== 'FAILED';
