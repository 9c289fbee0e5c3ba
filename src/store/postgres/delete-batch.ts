/**
 * Deletes of finished tasks, batched: while one statement is in flight, the deletes that arrive
 * queue, and the next statement takes them all (one round trip, one transaction, one WAL flush,
 * one update of the shared task counters instead of one per delete, which would serialise every
 * delete on the counter rows). Each delete still gets its own answer, only after the commit.
 * A task asked to be deleted twice in one batch goes in once; the second request finds it gone.
 */
import type { Deleter } from '../../tasks/records.js';
import type { DeleteOutcome } from '../types.js';
import type { PgDb } from './db.js';
import * as plans from './plans.js';

interface Request {
  projectId: string;
  id: string;
  instanceId: string | null;
  by: Deleter;
  at: number;
  resolve: (o: DeleteOutcome) => void;
  reject: (e: unknown) => void;
}

/** At most this many deletes per statement. */
const MAX_BATCH = 256;

export class DeleteBatcher {
  private queue: Request[] = [];
  private running = false;

  constructor(private readonly db: PgDb) {}

  delete(projectId: string, id: string, instanceId: string | null, by: Deleter): Promise<DeleteOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ projectId, id, instanceId, by, at: Date.now(), resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, MAX_BATCH);
        await this.run(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async run(batch: Request[]): Promise<void> {
    const firsts = new Map<string, Request>();
    for (const r of batch) if (!firsts.has(r.id)) firsts.set(r.id, r);
    const sent = [...firsts.values()];
    let deleted: Set<string>;
    try {
      const col = <T>(f: (r: Request) => T) => sent.map(f);
      const rows = await this.db.q(plans.deleteFinishedTasks, [
        col((r) => r.id), col((r) => r.projectId), col((r) => r.instanceId),
        col((r) => r.by.userId), col((r) => r.by.userName), col((r) => r.by.message), col((r) => r.at),
      ]);
      deleted = new Set(rows.map((r) => String(r.task_id)));
    } catch (e) {
      for (const r of batch) r.reject(e);
      return;
    }
    await Promise.all(batch.map(async (r) => {
      if (firsts.get(r.id) === r && deleted.has(r.id)) return r.resolve('deleted');
      try {
        r.resolve((await this.db.q(plans.unfinishedTaskExists, [r.id, r.projectId, r.instanceId])).length ? 'running' : 'not_found');
      } catch (e) {
        r.reject(e);
      }
    }));
  }
}
