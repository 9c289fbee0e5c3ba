/**
 * Error mapping: every failure leaves as the contract's error body with an honest status.
 * Validation failures are mapped to the DCS code of the parameter that failed; anything
 * unexpected is a 500 DCS.5000 whose details go to the log only, under the request id.
 */
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DcsError, Errors } from '../errors.js';
import { INSTANCE_ID } from '../instances/schemas.js';

/**
 * The HTTP status of each DCS code (api.md's table): authentication codes are 401, the role code
 * 403, "does not exist" codes 404, DCS.5000 500, every other code a 400.
 */
const STATUS_OF_CODE = new Map<string, number>([
  ['DCS.1001', 401], ['DCS.1002', 401], ['DCS.1003', 401], ['DCS.1004', 401],
  ['DCS.3002', 403],
  ['DCS.3022', 404], ['DCS.4001', 404],
  ['DCS.5000', 500],
]);

export function statusOf(e: DcsError): number {
  if (e instanceof MethodNotAllowed) return 405;
  if (e instanceof Overloaded || e instanceof NotServing) return 503;
  return STATUS_OF_CODE.get(e.code) ?? 400;
}

/** A known path asked with a method it does not serve: 405 with an Allow header (HTTP's own). */
export class MethodNotAllowed extends DcsError {
  constructor(readonly allow: string[]) {
    super('DCS.4001', 'The method is not supported for this resource.');
  }
}

/** A connection past the cap (--max-connections): 503 in the contract's shape, then closed. */
export class Overloaded extends DcsError {
  constructor(limit: number) {
    super('DCS.5000', `The service has ${limit} connections open, its limit: try again shortly.`);
  }
}

/**
 * A request that arrives while the service cannot serve it — still starting, or stopping (behind
 * one in flight on a kept-alive connection) — 503 in the contract's shape, not applied, its
 * connection closed.
 */
export class NotServing extends DcsError {
  constructor(state: 'starting' | 'shutting down') {
    super('DCS.5000', `The service is ${state}; the request was not applied: send it again${state === 'starting' ? ' in a moment' : ' (to another node, or once this one is back)'}.`);
  }
}

/** The exact body every error response carries. */
export function errorBody(e: DcsError) {
  return { error_code: e.code, error_msg: e.message.slice(0, 1024), error_ext_msg: null };
}

/** Keyed by a name from the request: a Map, so "constructor" or "__proto__" find nothing. */
const PARAM_ERRORS: ReadonlyMap<string, () => DcsError> = new Map([
  ['project_id', Errors.badProjectId],
  ['instance_id', Errors.badInstanceId],
  ['task_id', Errors.badTaskId],
  ['job_id', Errors.badJobId],
]);

/**
 * 32 hex characters, unique per process and across processes: a random prefix drawn once and a
 * counter (random bytes per request cost a few per cent of a delete's time; ids are not secrets).
 */
const REQUEST_ID_PREFIX = randomBytes(10).toString('hex');
let requestCounter = 0;
export const newRequestId = (): string => REQUEST_ID_PREFIX + (requestCounter++ % 2 ** 48).toString(16).padStart(12, '0');

type AjvError = { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> };

function fromValidation(err: FastifyError): DcsError {
  const v = (err.validation ?? [])[0] as AjvError | undefined;
  const ctx = err.validationContext;
  const path = (v?.instancePath ?? '').split('/').filter(Boolean);
  if (ctx === 'params') return (PARAM_ERRORS.get(path[0] ?? '') ?? Errors.routeNotFound)();
  // An instance id inside a body is malformed as one in the path is (api.md: DCS.4061).
  if (v?.keyword === 'pattern' && v.params.pattern === INSTANCE_ID.pattern) return Errors.badInstanceId();
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
    case 'FST_ERR_MAX_PARAM_LENGTH':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return Errors.routeNotFound();
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return Errors.badParam('request', err.message);
  return null;
}

/** The DCS code a request was answered with, for its log line. */
const answeredCodes = new WeakMap<object, string>();
export const errorCodeOf = (req: FastifyRequest): string | null => answeredCodes.get(req) ?? null;

export function sendError(reply: FastifyReply, e: DcsError): FastifyReply {
  answeredCodes.set(reply.request, e.code);
  if (e instanceof MethodNotAllowed) reply.header('Allow', e.allow.join(', '));
  if (e instanceof Overloaded) reply.header('Retry-After', '1').header('Connection', 'close');
  return reply.code(statusOf(e)).type('application/json').send(errorBody(e));
}

/** What is read, at most, of a refused body before answering: beyond it the connection is cut. */
const DRAIN_MAX_BYTES = 16 * 1024 * 1024;
const DRAIN_MAX_MS = 5000;

/**
 * Reads and discards what is left of a body the service refused before reading it (too large,
 * say). Answering first and closing (Fastify closes after a body error) would leave the client's
 * bytes unread, and the kernel then resets the connection, which can destroy the answer before
 * the client reads it. Bounded in bytes and time.
 */
function drainRequest(raw: IncomingMessage): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', done).off('error', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > DRAIN_MAX_BYTES) done();
    };
    const timer = setTimeout(done, DRAIN_MAX_MS);
    raw.on('data', onData).once('end', done).once('error', done);
    raw.resume();
  });
}

/**
 * A request refused before authentication could run (its body too large to read, say): what its
 * credentials already show without the body, which the contract's order puts first.
 */
export type CredentialsFirst = (req: FastifyRequest) => Promise<DcsError | null>;

export function registerErrorHandling(app: FastifyInstance, allowedMethods: (url: string) => string[], credentialsFirst: CredentialsFirst): void {
  app.setErrorHandler(async (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    let e = err instanceof DcsError ? err : fromFramework(err);
    // No caller yet: the error came from reading the body, before authentication ran.
    if (e && statusOf(e) === 400 && req.routeOptions.config.dcs && !req.caller) e = (await credentialsFirst(req).catch(() => null)) ?? e;
    // A path parameter that failed its format may be a fixed segment of another route asked with
    // a method that route does not serve (DELETE …/instances/status): 405, not a bad id.
    if (err.validationContext === 'params') {
      const allow = allowedMethods(req.url);
      if (allow.length && !allow.includes(req.method)) e = new MethodNotAllowed(allow);
    }
    if (!e) {
      req.log.error({ err }, 'unexpected error');
      e = Errors.internal();
    }
    await drainRequest(req.raw);
    // A body left unread (larger than the drain allows, or still arriving) would be read as the
    // next request on this connection, or block it: close instead.
    if (!req.raw.complete) reply.header('Connection', 'close');
    return sendError(reply, e);
  });
  app.setNotFoundHandler((req, reply) => {
    const allow = allowedMethods(req.url);
    return sendError(reply, allow.length ? new MethodNotAllowed(allow) : Errors.routeNotFound());
  });
}

// ---------------------------------------------------------------------------------------------
// Requests that never reach a route: the router's own refusals and malformed HTTP.

/** Longest path segment routed as is; longer ones are refused by the id check (and signed first). */
export const MAX_PATH_SEGMENT = 4096;

/**
 * Fastify's rewriteUrl: a path segment the router cannot decode (bad %-escape, invalid UTF-8) or
 * will not take (too long) becomes "%25", a "%" that no identifier format allows. The route is
 * then still found, authentication still runs first (on the original URL, which it signs), and
 * the request ends with the id-format code of that parameter, in the contract's order.
 */
export function routableUrl(url: string): string {
  if (url.length <= MAX_PATH_SEGMENT && !url.includes('%')) return url; // nothing to decode, nothing too long
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  let changed = false;
  const segments = path.split('/').map((s) => {
    if (s.length <= MAX_PATH_SEGMENT && decodable(s)) return s;
    changed = true;
    return '%25';
  });
  return changed ? segments.join('/') + (q < 0 ? '' : url.slice(q)) : url;
}

function decodable(segment: string): boolean {
  if (!segment.includes('%')) return true;
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/** Fastify's frameworkErrors: what the router refuses before any hook runs (so no request id yet). */
export function frameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  reply.header('X-Request-Id', req.id);
  req.log.info({ method: req.method, route: null, code: err.code }, 'request refused by the router');
  void sendError(reply, fromFramework(err) ?? Errors.routeNotFound());
}

/** What Node's HTTP parser refused, in the contract's terms. */
function clientErrorOf(err: NodeJS.ErrnoException & { bytesParsed?: number }, timeouts: { headersMs: number; requestMs: number }): DcsError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return Errors.badParam('headers', 'the request headers are larger than 16 KiB.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return Errors.badParam('request', `the request was not received in time (headers within ${timeouts.headersMs} ms, all of it within ${timeouts.requestMs} ms).`);
    default:
      return Errors.badParam('request', `it is not valid HTTP/1.1 (${err.code ?? 'parse error'}${err.message ? `: ${err.message}` : ''}).`);
  }
}

const answered = new WeakSet<Duplex>();

/**
 * Fastify's clientErrorHandler: Node's parser refused the bytes (bad method, bad header, headers
 * too large, a timeout ...), so no request object exists. Writes the contract's answer on the
 * socket itself, unless a response already started there, and closes: FIN after the answer, the
 * socket destroyed a moment later so a client that keeps sending cannot hold it.
 */
export function clientErrorHandler(timeouts: { headersMs: number; requestMs: number }, log: { info: (o: object, m: string) => void }) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
    answered.add(socket);
    // Requests before the malformed one on this connection (pipelined) are answered first: a
    // change they made must not be reported to the client as this error.
    afterResponses(socket, timeouts.requestMs, () => {
      if (socket.writable) {
        const e = clientErrorOf(err, timeouts);
        const id = answerOnSocket(socket, statusOf(e), e);
        log.info({ request_id: id, status: statusOf(e), code: err.code }, 'malformed request refused');
      }
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  };
}

/**
 * A connection accepted while the service starts (its port held, nothing served yet): once the
 * request's head has arrived, 503 "starting" in the contract's shape, then closed — a client
 * learns its request was not applied, where a reset left it guessing. The socket's errors are
 * the holder's to swallow (holdListenPort, from the moment it accepts).
 */
export function answerStarting(socket: Duplex): void {
  let head = '';
  const giveUp = setTimeout(() => socket.destroy(), 5000);
  giveUp.unref();
  socket.on('data', (d: Buffer) => {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n') && head.length < 16_384) return;
    socket.removeAllListeners('data');
    clearTimeout(giveUp);
    answerOnSocket(socket, 503, new NotServing('starting'));
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}

/** Writes the contract's answer straight on a socket no response object owns, and ends it; the request id. */
function answerOnSocket(socket: Duplex, status: number, e: DcsError): string {
  const id = newRequestId();
  const body = JSON.stringify(errorBody(e));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`,
  );
  return id;
}

/**
 * What Node answers by itself unless a listener is there, in the contract's shape instead: an
 * `Expect` other than 100-continue (Node: a bare 417) and a `CONNECT` (Node: the socket closed
 * without a word). Neither reaches Fastify.
 */
export function answerWhatNodeWould(server: Server, log: { info: (o: object, m: string) => void }): void {
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const e = Errors.badParam('Expect', `${String(req.headers.expect).slice(0, 100)} is not supported (only 100-continue).`);
    const id = newRequestId();
    const body = JSON.stringify(errorBody(e));
    res.writeHead(417, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Request-Id': id, Connection: 'close' });
    res.end(body);
    log.info({ request_id: id, status: 417 }, 'unsupported Expect refused');
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    const id = answerOnSocket(socket, 400, Errors.badParam('method', 'CONNECT is not served: this service is not a proxy.'));
    log.info({ request_id: id, status: 400 }, 'CONNECT refused');
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}

type HttpSocket = Duplex & { _httpMessage?: (NodeJS.EventEmitter & { writableFinished?: boolean; req?: { complete?: boolean } }) | null };

/**
 * Runs `then` once no response to a complete earlier request is being written on `socket` —
 * Node attaches pipelined responses one after another, each when the previous has finished — or
 * after `maxMs` (the request timeout: a handler that never answers does not keep the connection
 * for ever). A response whose request is incomplete is the refused request's own (its body broke
 * off or was cut by a timeout): not waited for.
 */
function afterResponses(socket: Duplex, maxMs: number, then: () => void): void {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(deadline);
    socket.off('close', finish);
    then();
  };
  const deadline = setTimeout(finish, maxMs);
  deadline.unref();
  socket.once('close', finish);
  const check = () => {
    const res = (socket as HttpSocket)._httpMessage;
    if (!res || res.writableFinished || !res.req?.complete) return finish();
    res.once('finish', () => setImmediate(check));
  };
  check();
}
