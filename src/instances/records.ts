/** Instances as the domain knows them: plain data, epoch-millisecond times (type-only for the stores). */
export type InstanceStatus = 'CREATING' | 'CREATEFAILED' | 'RUNNING' | 'RESTARTING' | 'RESTORING' | 'ERROR' | 'DELETING';

/** One redis-server of a managed instance: the master, or a replica following it. */
export interface NodeRecord {
  name: string;
  port: number;
  role: 'master' | 'replica';
}

export interface InstanceRecord {
  id: string;
  projectId: string;
  name: string;
  engine: string;
  engineVersion: string;
  capacityGb: number;
  host: string;
  port: number;
  status: InstanceStatus;
  /** true: a redis-server this service starts and supervises; false: attached through redisUrl. */
  managed: boolean;
  /** For attached instances: the URL with the password removed (the password lives in `password`). */
  redisUrl: string | null;
  /** The one column that holds the Redis password: operations need it to connect. */
  password: string | null;
  /** A password change in flight: written with the task, moved to `password` when it lands. */
  pendingPassword: string | null;
  username: string | null;
  /** Extra DCS fields the user sent (spec_code, description…), kept for GET. */
  extra: Record<string, unknown>;
  /** Managed instances: the master node (port === `port`) and its replicas. Empty when attached. */
  nodes: NodeRecord[];
  /** The node that supervises a managed instance (multi-node PostgreSQL). */
  ownerNode: string | null;
  createdAt: number;
  /**
   * When the instance first answered as RUNNING (DCS `launched_at`); null before. The store sets
   * it once, in the write that first records RUNNING: a restart does not move it.
   */
  launchedAt: number | null;
  updatedAt: number;
}

export type InstancePatch = Partial<Omit<InstanceRecord, 'id' | 'projectId' | 'createdAt' | 'launchedAt' | 'extra'>> & {
  /**
   * Keys of `extra` to set, each replaced whole; every other key is kept. The store sets them in
   * its own write, so changes of different keys made at the same time (a PUT of the description
   * while a task records the configuration) do not undo each other.
   */
  extraKeys?: Record<string, unknown>;
};
