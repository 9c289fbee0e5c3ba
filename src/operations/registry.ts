/**
 * The one list of operation modules. The engine registers their operations, TaskService reads
 * their busy codes, the HTTP layer serves their endpoints (and OpenAPI documents them). A new
 * operation is one new module in this folder and one line here.
 */
import type { Busy, Endpoint, InstanceOperation, OperationModule } from './operation.js';
import instanceStatus from './instance-status.js';
import password from './password.js';
import configs from './configs.js';
import resize from './resize.js';
import swap from './swap.js';
import port from './port.js';
import acl from './acl.js';
import backup from './backup.js';
import scans from './scans.js';

const MODULES: OperationModule[] = [
  instanceStatus,
  password,
  configs,
  resize,
  swap,
  port,
  acl,
  backup,
  scans,
];

// `any`: each operation has its own state type
export const OPERATIONS: readonly InstanceOperation<any>[] = MODULES.flatMap((m) => m.operations);
// `any`: each endpoint has its own body type
export const ENDPOINTS: readonly Endpoint<any>[] = MODULES.flatMap((m) => m.endpoints);

const BY_NAME = new Map(OPERATIONS.map((op) => [op.name, op]));
if (BY_NAME.size !== OPERATIONS.length) throw new Error('two operations share a task name');

/** Busy code and wording while a task of this name runs; DCS.4026 for a name no module knows. */
export function busyOf(taskName: string): Busy {
  return BY_NAME.get(taskName)?.busy ?? { code: 'DCS.4026', what: `running another task (${taskName})` };
}
