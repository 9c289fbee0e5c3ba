/**
 * Start-up work kept off the way to the first answer: module loads the service can do without at
 * first (the schema compilers, prom-client's process metrics) run a second after the server
 * listens, once, and never stop it from serving if they fail.
 */
import type { FastifyInstance } from 'fastify';

const AFTER_MS = 1000;

export function afterListening(app: FastifyInstance, work: () => unknown): void {
  app.addHook('onListen', (done) => {
    setTimeout(() => {
      // A failure is not a reason to stop serving: what needed the work reports it when used.
      Promise.resolve().then(work).catch(() => {});
    }, AFTER_MS).unref();
    done();
  });
}
