/**
 * Serves the web console's static files (built by Vite into dist/console) at /console.
 * No authentication here: the files hold no data; the page signs its own API calls.
 * Unknown /console/... paths get index.html, so a reload on any console URL works; a missing
 * file under /console/assets/ is a real 404 (a stale hashed bundle must not come back as HTML).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';

/** dist/src/http/console.js → dist/console (both come out of `npm run build`). */
export const CONSOLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console');

// The page talks only to its own origin by default; another endpoint is the user's choice.
const CSP = "default-src 'self'; connect-src 'self' http: https:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

export async function registerConsole(app: FastifyInstance, dir = CONSOLE_DIR): Promise<void> {
  // A person who opens the service's address in a browser lands on the console.
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/', 302));
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    // A build without the console (tsc only) still serves the API; say how to get the console.
    const notBuilt = async (_req: unknown, reply: FastifyReply) =>
      reply.code(503).type('text/plain').send('The web console is not built; run `npm run build`.\n');
    app.get('/console', { schema: { hide: true } }, notBuilt);
    app.get('/console/*', { schema: { hide: true } }, notBuilt);
    return;
  }

  await app.register(async (scope) => {
    await scope.register(fastifyStatic, {
      root: dir,
      // One route per built file (index.html also at /console and /console/), so the
      // not-found handler below sees everything else.
      wildcard: false,
      index: 'index.html',
      cacheControl: false,
      setHeaders: (res, file) => {
        // Vite puts a content hash in every asset name: those never change; index.html may.
        const hashed = file.includes(`${path.sep}assets${path.sep}`);
        res.setHeader('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
        res.setHeader('Content-Security-Policy', CSP);
        res.setHeader('X-Content-Type-Options', 'nosniff');
      },
    });
    scope.setNotFoundHandler(async (req, reply) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return reply.code(405).header('Allow', 'GET, HEAD').send();
      if (req.url.startsWith('/console/assets/')) return reply.code(404).type('text/plain').send('Not found\n');
      return reply.header('Cache-Control', 'no-cache').header('Content-Security-Policy', CSP).sendFile('index.html');
    });
  }, { prefix: '/console' });
}
