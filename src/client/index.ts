/**
 * The typed client, for Node 20+ and browsers. Import it from 'dcs-tasks/client' in a browser
 * bundle ('dcs-tasks' also exports it, but with the server beside it).
 */
export { DcsTasksClient, formatQueryTime } from './client.js';
export { DcsApiError, DcsNetworkError, DcsOptionsError } from './errors.js';
export { signRequestAsync, type ClientSignOptions } from './signer.js';
export { findCentreTask, waitForTask, WaitTimeoutError, type WaitOptions, type TaskUpdate } from './tasks.js';
export type { DcsTasksClientOptions } from './transport.js';
export type * from './types.js';
export type * from './migration-types.js';
export type * from './record-types.js';
