/**
 * Deletes of finished tasks, batched (Batcher): one statement deletes them all and writes their
 * audit rows, and updates the shared task counters once instead of once per delete (which would
 * serialise every delete on the counter rows). A task asked to be deleted twice goes in once; the
 * second request, in the next batch, finds it gone.
 */
import type { Deleter } from '../../tasks/records.js';
import type { DeleteOutcome } from '../types.js';
import { Batcher, columnsOf } from './batcher.js';
import type { PgDb } from './db.js';
import * as plans from './plans.js';

export interface DeleteRequest {
  projectId: string;
  id: string;
  instanceId: string | null;
  by: Deleter;
  at: number;
}

export function deleteBatcher(db: PgDb): Batcher<DeleteRequest, DeleteOutcome> {
  return new Batcher((r) => r.id, async (batch) => {
    const rows = await db.q(plans.deleteFinishedTasks, columnsOf(batch,
      (r) => r.id, (r) => r.projectId, (r) => r.instanceId, (r) => r.by.userId, (r) => r.by.userName, (r) => r.by.message, (r) => r.at));
    const deleted = new Set(rows.map((r) => String(r.task_id)));
    // Why the others were not deleted: rare, asked one by one.
    return batch.map(async (r): Promise<DeleteOutcome> => {
      if (deleted.has(r.id)) return 'deleted';
      return (await db.q(plans.unfinishedTaskExists, [r.id, r.projectId, r.instanceId])).length ? 'running' : 'not_found';
    });
  });
}
