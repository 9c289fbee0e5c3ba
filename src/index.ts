/** Library entry point: the service, and the typed client (also alone at 'dcs-tasks/client'). */
export { DcsError } from './errors.js';
export { startService } from './server.js';
export { resolveServeConfig } from './config.js';
export * from './client/index.js';
