/**
 * DCS errors: every failure a client can see is one of these, named by its DCS code. The domain
 * throws them without knowing about HTTP; http/errors.ts decides the status of each code and
 * turns them into the contract's error body.
 */
export class DcsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DcsError';
  }
}

/** The instance's supervising node is down (automation.md §1.3): no task can run on it now. */
export class NodeDown extends DcsError {
  constructor(node: string | null) {
    super('DCS.4049', `The instance status is ERROR, not RUNNING: service node ${node}, which supervises it, is not running.`);
  }
}

export const Errors = {
  badProjectId: () => new DcsError('DCS.4002', 'Invalid project ID format.'),
  badInstanceId: () => new DcsError('DCS.4061', 'Invalid instance ID format.'),
  badTaskId: () => new DcsError('DCS.4070', 'Invalid task ID format.'),
  badJobId: () => new DcsError('DCS.4070', 'Invalid job ID format.'),
  notJson: (detail = 'The request body is not valid JSON.') => new DcsError('DCS.4005', detail),
  badParam: (name: string, why: string) => new DcsError('DCS.4800', `Invalid parameter ${name}: ${why}`),
  portOfAnotherInstance: (port: number) => new DcsError('DCS.4800', `Invalid parameter port: port ${port} belongs to another instance.`),
  endBeforeStart: () => new DcsError('DCS.4025', 'The end time is earlier than the start time.'),
  taskRunning: () => new DcsError('DCS.4017', 'This DCS instance job task is still running.'),
  passwordComplexity: (why: string) => new DcsError('DCS.4019', `The password does not meet the complexity requirements: ${why}`),
  oldPasswordWrong: () => new DcsError('DCS.4080', 'The old password is incorrect.'),
  badConfig: (why: string) => new DcsError('DCS.4066', why),
  instanceBusy: (code: string, what: string) => new DcsError(code, `The instance is ${what}; try again when the running task has finished.`),
  noReplica: () => new DcsError('DCS.4086', 'The instance has no standby node.'),
  instanceDeleteRefused: () => new DcsError('DCS.4099', 'The instance cannot be deleted while one of its tasks is running.'),
  instanceQuota: (quota: number) => new DcsError('DCS.4109',
    `The instance quota of this project is used up: it has ${quota} instance${quota === 1 ? '' : 's'}, the most allowed. Delete one, or start the service with a higher --instance-quota.`),
  redisUnavailable: (why: string) => new DcsError('DCS.4800', why),
  badSignature: () => new DcsError('DCS.1001', 'The request signature or token is invalid.'),
  /** An unknown access key and a wrong signature answer alike (auth.md §5: nothing says which). */
  signatureRejected: () => new DcsError('DCS.1001', 'The signature does not match the request: check the access key, the secret key and that the request was sent as it was signed.'),
  malformedSignature: (why: string) => new DcsError('DCS.1001', `The Authorization header cannot be used: ${why}.`),
  expired: (what: string) => new DcsError('DCS.1002', what),
  noCredentials: () => new DcsError('DCS.1003', 'The request carries no credentials (Authorization or X-Auth-Token).'),
  projectMismatch: () => new DcsError('DCS.1004', 'The project in the request does not match the credential.'),
  readOnly: () => new DcsError('DCS.3002', 'The credential is read-only and may not change resources.'),
  crossSite: (marker: string) => new DcsError('DCS.3002', `A browser request from another site (${marker}) is refused while the service runs with --no-auth.`),
  instanceNotFound: () => new DcsError('DCS.3022', 'The instance does not exist.'),
  taskNotFound: () => new DcsError('DCS.4001', 'The task does not exist.'),
  jobNotFound: () => new DcsError('DCS.4001', 'The job does not exist.'),
  routeNotFound: () => new DcsError('DCS.4001', 'The requested resource does not exist.'),
  internal: () => new DcsError('DCS.5000', 'Internal service error.'),
  instanceInMigration: (migrationId: string) =>
    new DcsError('DCS.4099', `The instance is the source or target of running migration task ${migrationId}; stop the migration first.`),
  targetInMigration: (target: string, migrationId: string) =>
    new DcsError('DCS.4099', `The target ${target} is already the target of running migration task ${migrationId}; stop that migration first.`),
  migrationNotFound: () => new DcsError('DCS.4133', 'The migration task does not exist.'),
  migrationState: (status: string, what: string) => new DcsError('DCS.4026', `The migration task is ${status}: ${what}`),
  migrationRunning: () => new DcsError('DCS.4017', 'The migration task is still running; stop it first.'),
  backupNotFound: () => new DcsError('DCS.4031', 'The backup does not exist.'),
};

