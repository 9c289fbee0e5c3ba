/**
 * The checks every DCS route makes before its handler, in the contract's order:
 * authentication (401) → project (401) → role (403) → body is JSON (400 DCS.4005);
 * identifier formats and parameters follow in Fastify's schema validation.
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { roleRefusal, type Authenticator, type Caller } from '../auth/authenticator.js';
import { Errors, type DcsError } from '../errors.js';

/** The largest body accepted, on every route and method. */
export const BODY_LIMIT = 1024 * 1024;
/** The deepest nesting of arrays and objects accepted in a JSON body (DCS bodies need 3). */
export const MAX_JSON_DEPTH = 32;

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
    /** Body bytes of a GET/HEAD (Fastify parses no body there, but the SDKs sign one: "{}"). */
    bodylessBody: Buffer | null;
  }
  interface FastifyContextConfig {
    /** true for DCS API routes: authenticated. */
    dcs?: boolean;
    /** true for routes that change something: a read-only credential gets 403. */
    mutating?: boolean;
  }
}

export function registerAuthHook(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('caller', null as unknown as Caller);
  app.decorateRequest('bodylessBody', null);
  // Whether a body is JSON is decided by its bytes, after authentication, never by the
  // Content-Type (the SDKs send any or none on a DELETE): every body is read as bytes. The
  // signature covers the header as sent (rawHeaders), which this does not touch.
  app.addHook('onRequest', (req, _reply, done) => {
    // Authentication comes before parameters (api.md): without any credentials the answer is 401
    // before a byte of the body is read — not a body error for a body too large, say.
    if (req.routeOptions.config.dcs) {
      const missing = auth.missingCredentials(req.headers);
      if (missing) return done(missing);
    }
    if (req.raw.headers['content-type'] !== undefined) req.raw.headers['content-type'] = 'application/octet-stream';
    done();
  });
  app.addHook('preParsing', (req, _reply, payload, done) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return done(null, payload);
    readBounded(payload, BODY_LIMIT).then((body) => {
      req.bodylessBody = body;
      done(null, payload);
    }, (e: Error) => done(e));
  });
  // Bodies arrive as raw bytes: the signature covers them, and they are parsed only once the
  // caller is known, so an anonymous client learns nothing from a body error.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('preValidation', async (req: FastifyRequest) => {
    const cfg = req.routeOptions.config;
    if (!cfg.dcs) return;
    const raw = req.bodylessBody ?? (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    const pathProject = (req.params as Record<string, string>).project_id ?? '';
    req.caller = await auth.authenticate(
      { method: req.method, rawUrl: originForm(req.originalUrl), headers: req.headers, rawHeaders: req.raw.rawHeaders, body: raw },
      pathProject,
    );
    const refused = roleRefusal(req.caller, cfg.mutating === true);
    if (refused) throw refused;
    checkQuery(req.query as Record<string, unknown>);
    // A GET or HEAD takes no body (signed, as any request's, and then ignored).
    if (req.method === 'GET' || req.method === 'HEAD') req.body = undefined;
    else {
      checkCodings(req.headers);
      req.body = parseJsonBody(raw);
      // A route that takes no body still reads one (the SDKs send "{}"); anything but an object
      // there is a client's mistake: `[]` on DELETE …/instances/{id} deleted the instance.
      if (!req.routeOptions.schema?.body && req.body != null && (typeof req.body !== 'object' || Array.isArray(req.body))) {
        throw Errors.badParam('body', 'this request takes no body: send none, or a JSON object.');
      }
    }
  });
}

/** What of a request's credentials can be checked without its body (see CredentialsFirst). */
export function credentialsWithoutBody(auth: Authenticator): (req: FastifyRequest) => Promise<DcsError | null> {
  return (req) => auth.refusalWithoutBody(
    { method: req.method, rawUrl: originForm(req.originalUrl), headers: req.headers, rawHeaders: req.raw.rawHeaders },
    (req.params as Record<string, string> | undefined)?.project_id ?? '',
    req.routeOptions.config.mutating === true,
  );
}

/**
 * A body is read as sent: one compressed on the way (Content-Encoding, or a transfer coding
 * besides chunked) is refused by name rather than read as its compressed bytes (which would be
 * "not JSON") or, worse, taken as plain when the header lies.
 */
function checkCodings(headers: FastifyRequest['headers']): void {
  const content = headers['content-encoding'];
  if (content !== undefined && String(content).trim().toLowerCase() !== 'identity') {
    throw Errors.badParam('Content-Encoding', `${String(content).slice(0, 50)} is not supported: send the body uncompressed.`);
  }
  const transfer = headers['transfer-encoding'];
  if (transfer !== undefined && String(transfer).trim().toLowerCase() !== 'chunked') {
    throw Errors.badParam('Transfer-Encoding', `${String(transfer).slice(0, 50)} is not supported: only chunked.`);
  }
}

/**
 * The path and query of a request target: an absolute-form target (`GET http://host/v2/…`,
 * which HTTP/1.1 servers must accept) signs and routes as its path, as sent.
 */
const originForm = (target: string): string => (/^https?:\/\//i.test(target) ? target.replace(/^https?:\/\/[^/?#]*/i, '') || '/' : target);

/**
 * Text no store keeps as given: U+0000 (PostgreSQL refuses it in text and JSON) and a lone
 * surrogate (no UTF-8 encoding exists). Refused on both stores alike, naming where it was.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const unstorable = (v: string) => v.includes('\0') || LONE_SURROGATE.test(v);
const UNSTORABLE = 'contains U+0000 or an unpaired surrogate, which cannot be stored.';

/** Each query parameter once, as storable text (its schema checks the rest). */
function checkQuery(q: Record<string, unknown> | undefined): void {
  for (const [name, v] of Object.entries(q ?? {})) {
    if (Array.isArray(v)) throw Errors.badParam(name, 'is given more than once.');
    if (typeof v === 'string' && unstorable(v)) throw Errors.badParam(name, UNSTORABLE);
  }
}

/** The first string (key or value) of a parsed body that cannot be stored, as a path like `a.b[2]`. */
function unstorableAt(v: unknown, at: string): string | null {
  if (typeof v === 'string') return unstorable(v) ? at || 'body' : null;
  if (v === null || typeof v !== 'object') return null;
  for (const [k, x] of Object.entries(v)) {
    const here = Array.isArray(v) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
    if (!Array.isArray(v) && unstorable(k)) return here;
    const found = unstorableAt(x, here);
    if (found) return found;
  }
  return null;
}

/**
 * Reads a body up to `limit` bytes. Past the limit it stops listening and refuses, leaving the
 * stream undestroyed: the error handler drains the rest (bounded) so the answer arrives and the
 * connection is not left half-read.
 */
function readBounded(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => stream.off('data', onData).off('end', onEnd).off('error', onError);
    const onData = (chunk: Buffer | string) => {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += b.length;
      if (size > limit) {
        stop();
        reject(Errors.badParam('body', 'the request body is larger than the 1 MiB limit.'));
      } else chunks.push(b);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onError = (e: Error) => {
      stop();
      reject(e);
    };
    stream.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/** An empty body is no body (the SDKs send Content-Type: application/json on a bodiless DELETE). */
function parseJsonBody(raw: Buffer): unknown {
  // JSON is UTF-8 (RFC 8259): decoding other bytes would store U+FFFD in their place, silently.
  if (!isUtf8(raw)) throw Errors.notJson('The request body is not valid JSON: it is not UTF-8.');
  const text = raw.toString('utf8');
  if (text.trim() === '') return undefined;
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw Errors.badParam('body', `it nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw Errors.notJson();
  }
  // Only escapes can put U+0000 or a surrogate into a parsed string (raw control characters are
  // not JSON, and the bytes are UTF-8): a body without them is not walked.
  if (/\\u(0000|d[89a-f])/i.test(text)) {
    const at = unstorableAt(body, '');
    if (at) throw Errors.badParam(at, UNSTORABLE);
  }
  return body;
}

/** Whether brackets outside strings nest deeper than `max` (checked before parsing, in one pass). */
function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
