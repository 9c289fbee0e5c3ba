/**
 * Background tasks as the domain knows them: plain data with epoch-millisecond times. The wire
 * format is the HTTP layer's business; the stores persist these shapes (type-only imports).
 */
export type TaskStatus = 'CREATED' | 'WAITING' | 'EXECUTING' | 'SUCCESS' | 'FAILED';
export type StepStatus = 'WAITING' | 'EXECUTING' | 'FINISH' | 'FAILED';
export const ACTIVE_TASK_STATUSES: readonly TaskStatus[] = ['CREATED', 'WAITING', 'EXECUTING'];
export const FINISHED_TASK_STATUSES: readonly TaskStatus[] = ['SUCCESS', 'FAILED'];

export interface StepRecord {
  index: number;
  name: string;
  status: StepStatus;
  beginAt: number | null;
  endAt: number | null;
  errorCode: string | null;
}

export interface TaskRecord {
  id: string;
  projectId: string;
  instanceId: string;
  instanceName: string;
  name: string;
  details: Record<string, unknown>;
  userId: string;
  userName: string;
  /** JSON text of the request parameters, secrets removed. */
  params: string;
  status: TaskStatus;
  errorCode: string | null;
  failReason: string | null;
  /** Operation state a resumed run needs (never a secret, never shown to users). */
  state: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  attempts: number;
  steps: StepRecord[];
}

export type NewTask = Pick<
  TaskRecord,
  'id' | 'projectId' | 'instanceId' | 'instanceName' | 'name' | 'details' | 'userId' | 'userName' | 'params' | 'state' | 'createdAt'
> & {
  steps: string[];
  /**
   * EXECUTING for a task a request creates (automation.md §1.1: the provider accepts only
   * EXECUTING → SUCCESS); the engine claims it like a CREATED one. Default CREATED.
   */
  initialStatus?: 'CREATED' | 'EXECUTING';
};

export interface AuditRecord {
  id: number;
  projectId: string;
  taskId: string;
  instanceId: string;
  taskName: string;
  lastStatus: TaskStatus;
  actorId: string;
  actorName: string;
  message: string | null;
  deletedAt: number;
}

export interface Deleter {
  userId: string;
  userName: string;
  message: string | null;
}
