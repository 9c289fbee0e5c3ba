/**
 * DCS errors: every failure a client can see is one of these. The HTTP layer turns them into
 * the contract's error body; the domain layers throw them without knowing about HTTP.
 */
export class DcsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DcsError';
  }
}

export const Errors = {
  badProjectId: () => new DcsError(400, 'DCS.4002', 'Invalid project ID format.'),
  badInstanceId: () => new DcsError(400, 'DCS.4061', 'Invalid instance ID format.'),
  badTaskId: () => new DcsError(400, 'DCS.4070', 'Invalid task ID format.'),
  badJobId: () => new DcsError(400, 'DCS.4070', 'Invalid job ID format.'),
  notJson: (detail = 'The request body is not valid JSON.') => new DcsError(400, 'DCS.4005', detail),
  badParam: (name: string, why: string) => new DcsError(400, 'DCS.4800', `Invalid parameter ${name}: ${why}`),
  endBeforeStart: () => new DcsError(400, 'DCS.4025', 'The end time is earlier than the start time.'),
  taskRunning: () => new DcsError(400, 'DCS.4017', 'This DCS instance job task is still running.'),
  passwordComplexity: (why: string) => new DcsError(400, 'DCS.4019', `The password does not meet the complexity requirements: ${why}`),
  oldPasswordWrong: () => new DcsError(400, 'DCS.4080', 'The old password is incorrect.'),
  badConfig: (why: string) => new DcsError(400, 'DCS.4066', why),
  instanceBusy: (code: string, what: string) => new DcsError(400, code, `The instance is ${what}; try again when the running task has finished.`),
  noReplica: () => new DcsError(400, 'DCS.4086', 'The instance has no standby node.'),
  instanceDeleteRefused: () => new DcsError(400, 'DCS.4099', 'The instance cannot be deleted while one of its tasks is running.'),
  instanceQuota: (quota: number) => new DcsError(400, 'DCS.4109',
    `The instance quota of this project is used up: it has ${quota} instance${quota === 1 ? '' : 's'}, the most allowed. Delete one, or start the service with a higher --instance-quota.`),
  redisUnavailable: (why: string) => new DcsError(400, 'DCS.4800', why),
  badSignature: () => new DcsError(401, 'DCS.1001', 'The request signature or token is invalid.'),
  expired: (what: string) => new DcsError(401, 'DCS.1002', what),
  noCredentials: () => new DcsError(401, 'DCS.1003', 'The request carries no credentials (Authorization or X-Auth-Token).'),
  projectMismatch: () => new DcsError(401, 'DCS.1004', 'The project in the request does not match the credential.'),
  readOnly: () => new DcsError(403, 'DCS.3002', 'The credential is read-only and may not change resources.'),
  instanceNotFound: () => new DcsError(404, 'DCS.3022', 'The instance does not exist.'),
  taskNotFound: () => new DcsError(404, 'DCS.4001', 'The task does not exist.'),
  jobNotFound: () => new DcsError(404, 'DCS.4001', 'The job does not exist.'),
  routeNotFound: () => new DcsError(404, 'DCS.4001', 'The requested resource does not exist.'),
  methodNotAllowed: (allow: string[]) =>
    new DcsError(405, 'DCS.4001', 'The method is not supported for this resource.', { Allow: allow.join(', ') }),
  internal: () => new DcsError(500, 'DCS.5000', 'Internal service error.'),
};

/** The exact body every error response carries. */
export function errorBody(e: DcsError) {
  return { error_code: e.code, error_msg: e.message.slice(0, 1024), error_ext_msg: null };
}
