/** The wire shapes the console shows (api.md), as the pages use them. */

export type TaskStatus = 'CREATED' | 'WAITING' | 'EXECUTING' | 'SUCCESS' | 'FAILED';

export interface Instance {
  instance_id: string;
  name: string;
  engine: string;
  engine_version: string;
  capacity: number;
  ip: string;
  port: number;
  status: string;
  created_at: string;
  description?: string | null;
  replica_num?: number;
  attached?: boolean;
}

export interface Task {
  id: string;
  name: string;
  status: TaskStatus;
  user_name: string;
  created_at: string;
  updated_at: string;
  enable_show: boolean;
  details?: Record<string, unknown>;
  /** Task centre only. */
  instance_id?: string;
  instance_name?: string;
  error_code?: string | null;
}

export interface Step {
  step_id: string;
  step_name: string;
  step_status: string;
  begin_time: string | null;
  end_time: string | null;
  error_code: string | null;
}

export interface Progress {
  progress: number;
  remain_time: number;
  step_details: Step[];
}

export interface TaskPage {
  total: number;
  tasks: Task[];
}

/** Paging and the task centre's time range (query strings as api.md spells them). */
export interface TaskQuery {
  offset: number;
  limit: number;
  start_time?: string;
  end_time?: string;
}

export const isRunning = (s: TaskStatus) => s !== 'SUCCESS' && s !== 'FAILED';
