/**
 * Error mapping: every failure leaves as the contract's error body with an honest status.
 * Validation failures are mapped to the DCS code of the parameter that failed; anything
 * unexpected is a 500 DCS.5000 whose details go to the log only, under the request id.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DcsError, Errors, errorBody } from '../errors.js';

const PARAM_ERRORS: Record<string, () => DcsError> = {
  project_id: Errors.badProjectId,
  instance_id: Errors.badInstanceId,
  task_id: Errors.badTaskId,
  job_id: Errors.badJobId,
};

type AjvError = { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> };

function fromValidation(err: FastifyError): DcsError {
  const v = (err.validation ?? [])[0] as AjvError | undefined;
  const ctx = err.validationContext;
  const path = (v?.instancePath ?? '').split('/').filter(Boolean);
  if (ctx === 'params') return (PARAM_ERRORS[path[0]] ?? Errors.routeNotFound)();
  if (v?.keyword === 'required') return Errors.badParam(String(v.params.missingProperty), 'is required.');
  if (v?.keyword === 'additionalProperties') return Errors.badParam(String(v.params.additionalProperty), 'is not a known parameter.');
  const name = path.length ? path.join('.') : ctx === 'body' ? 'body' : 'request';
  return Errors.badParam(name, `${v?.message ?? 'is invalid'}.`);
}

/** Maps framework errors (client mistakes) to DCS errors; null for anything unexpected. */
function fromFramework(err: FastifyError): DcsError | null {
  if (err.validation) return fromValidation(err);
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return Errors.badParam('body', 'the request body is larger than the 1 MiB limit.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return Errors.notJson();
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return Errors.routeNotFound();
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return Errors.badParam('request', err.message);
  return null;
}

export function sendError(reply: FastifyReply, e: DcsError): FastifyReply {
  return reply.code(e.status).headers(e.headers).type('application/json').send(errorBody(e));
}

export function registerErrorHandling(app: FastifyInstance, allowedMethods: (url: string) => string[]): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    let e = err instanceof DcsError ? err : fromFramework(err);
    if (!e) {
      req.log.error({ err }, 'unexpected error');
      e = Errors.internal();
    }
    return sendError(reply, e);
  });
  app.setNotFoundHandler((req, reply) => {
    const allow = allowedMethods(req.url);
    return sendError(reply, allow.length ? Errors.methodNotAllowed(allow) : Errors.routeNotFound());
  });
}
