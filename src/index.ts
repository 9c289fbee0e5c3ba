/** Library entry point. */
export { DcsError } from './errors.js';
export { startService } from './server.js';
export { resolveServeConfig } from './config.js';
