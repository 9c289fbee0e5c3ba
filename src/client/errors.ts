/**
 * The two ways a call fails. DcsApiError: the service answered with an error (a DCS code the
 * caller can act on). DcsNetworkError: no answer at all (refused, DNS, timeout), where retrying
 * or checking the endpoint is what helps. Kept apart so scripts can tell "wrong request" from
 * "wrong endpoint" (the CLI maps them to exit codes 1 and 3).
 */

export class DcsApiError extends Error {
  override readonly name = 'DcsApiError';
  constructor(
    /** "DCS.4001", …; `HTTP.<status>` when the answer was not a DCS error body (e.g. a proxy's). */
    readonly errorCode: string,
    readonly httpStatus: number,
    /** The service's X-Request-Id, the key to its log line; null when absent. */
    readonly requestId: string | null,
    message: string,
  ) {
    super(message);
  }
}

export class DcsNetworkError extends Error {
  override readonly name = 'DcsNetworkError';
  constructor(
    message: string,
    /** The URL that could not be reached. */
    readonly url: string,
    /** True when the client's own timeout (timeoutMs) ended the call. */
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The client's options are unusable (no project, AK without SK, an endpoint that is not an
 * http(s) URL): a mistake of the caller, before any request. A TypeError, as it always was.
 */
export class DcsOptionsError extends TypeError {
  override readonly name = 'DcsOptionsError';
}

/** A DCS error body, as api.md fixes it. */
export function isErrorBody(x: unknown): x is { error_code: string; error_msg: string } {
  return typeof x === 'object' && x !== null &&
    typeof (x as Record<string, unknown>).error_code === 'string' &&
    typeof (x as Record<string, unknown>).error_msg === 'string';
}
