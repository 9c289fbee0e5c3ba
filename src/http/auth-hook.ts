/**
 * The checks every DCS route makes before its handler, in the contract's order:
 * authentication (401) → project (401) → role (403) → body is JSON (400 DCS.4005);
 * identifier formats and parameters follow in Fastify's schema validation.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator, Caller } from '../auth/authenticator.js';
import { Errors } from '../errors.js';

/** The largest body accepted, on every route and method. */
export const BODY_LIMIT = 1024 * 1024;

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
  app.addHook('preParsing', async (req, _reply, payload) => {
    if (req.method === 'GET' || req.method === 'HEAD') req.bodylessBody = await readBounded(payload, BODY_LIMIT);
    return payload;
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
      { method: req.method, rawUrl: req.raw.url ?? '/', headers: req.headers, rawHeaders: req.raw.rawHeaders, body: raw },
      pathProject,
    );
    if (cfg.mutating && req.caller.role !== 'admin') throw Errors.readOnly();
    req.body = parseJsonBody(raw);
  });
}

async function readBounded(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += b.length;
    if (size > limit) throw Errors.badParam('body', 'the request body is larger than the 1 MiB limit.');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** An empty body is no body (the SDKs send Content-Type: application/json on a bodiless DELETE). */
function parseJsonBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw Errors.notJson();
  }
}
