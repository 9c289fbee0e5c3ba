/**
 * Maintenance beside the engine (as pg-boss keeps boss.js apart from manager.js): this node's
 * heartbeat and the sweep of tasks a dead node left behind (multi-node stores), which nodes are
 * alive, and the retention of finished tasks. It runs no task itself.
 */
import type { Logger } from 'pino';
import type { NodeRegistry, Store } from '../store/types.js';

export interface MaintenanceOptions {
  store: Store;
  logger: Logger;
  /** This service node; null on single-node stores. */
  nodeId: string | null;
  /** How often this node beats (multi-node). */
  heartbeatMs: number;
  /** A node that has not beaten for this long is down; its orphaned tasks are failed. */
  nodeDeadAfterMs: number;
  /** Finished tasks older than this many days are removed (and audited); null: kept. */
  retentionDays: number | null;
  /** The code a task failed for its node's death gets. */
  failureCode: string;
  /** A task this node failed for a dead node (its end is written), for the task metrics. */
  onFailed?: (task: { id: string; name: string }, errorCode: string) => void;
}

/** Expired tasks removed per transaction by the retention purge. */
export const PURGE_CHUNK = 500;

export class Maintenance {
  private readonly timers: NodeJS.Timeout[] = [];
  /** Since when this node's heartbeats have been succeeding without a gap (null: not now). */
  private beatingSince: number | null = null;
  /** A retention purge is under way (a backlog can outlast the interval). */
  private purging = false;
  private stopped = false;
  /** The heartbeat under way, if any. */
  private beating: Promise<void> = Promise.resolve();

  constructor(private readonly o: MaintenanceOptions) {}

  start(): void {
    const { nodes } = this.o.store;
    if (nodes && this.o.nodeId) {
      const beat = () => (this.beating = this.beat(nodes, this.o.nodeId!));
      void beat();
      this.every(this.o.heartbeatMs, beat);
    }
    if (this.o.retentionDays !== null) {
      void this.purge(this.o.retentionDays);
      this.every(60_000, () => this.purge(this.o.retentionDays!));
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  /**
   * Tells the other nodes this one stopped on purpose, once its engine has released its leases:
   * its tasks are resumable, waiting for its return (interface.md), not a dead node's to fail.
   */
  async markStopped(): Promise<void> {
    const { nodes } = this.o.store;
    if (!nodes || !this.o.nodeId) return;
    await this.beating; // a heartbeat still in flight would clear the mark
    await nodes.nodeStopped(this.o.nodeId, Date.now()).catch((err) => this.o.logger.warn({ err }, 'could not record this node as stopped'));
  }

  /**
   * Which service nodes are alive right now, read once (for a whole list of instances). Every
   * node is alive on single-node stores, and this node always is.
   */
  async nodeLiveness(): Promise<(node: string) => boolean> {
    const { nodes } = this.o.store;
    if (!nodes) return () => true;
    const beats = await nodes.nodeHeartbeats();
    const since = Date.now() - this.o.nodeDeadAfterMs;
    return (node) => node === this.o.nodeId || (beats.get(node) ?? -Infinity) >= since;
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => void fn(), ms);
    t.unref();
    this.timers.push(t);
  }

  /** Says this node is alive, and fails the tasks a dead node left behind. */
  private async beat(nodes: NodeRegistry, nodeId: string): Promise<void> {
    try {
      const now = Date.now();
      await nodes.heartbeatNode(nodeId, now);
      this.beatingSince ??= now;
      // Only a node that has itself been beating for a whole dead-node interval may judge the
      // others: after a database outage every node's heartbeat is old, and the first one back
      // must not fail the tasks of nodes that are merely reconnecting.
      if (now - this.beatingSince < this.o.nodeDeadAfterMs) return;
      const failed = await nodes.failOrphanedTasks(now - this.o.nodeDeadAfterMs, now, this.o.failureCode);
      if (failed.length) this.o.logger.warn({ task_ids: failed.map((t) => t.id) }, 'failed tasks left behind by a service node that stopped');
      // This node wrote their end: it counts them, as the engine counts the ends it writes.
      for (const t of failed) this.o.onFailed?.(t, this.o.failureCode);
    } catch (err) {
      this.beatingSince = null;
      this.o.logger.warn({ err }, 'node heartbeat failed');
    }
  }

  /**
   * Removes finished tasks older than the retention, auditing each like a user's delete: a chunk
   * per transaction, so a backlog of a million expired tasks never holds the writer (other
   * writes go between chunks) nor makes one huge transaction. One purge at a time; a stop ends
   * it between chunks.
   */
  private async purge(days: number): Promise<void> {
    if (this.purging) return;
    this.purging = true;
    let removed = 0;
    try {
      const by = { userId: 'system', userName: 'retention', message: `older than ${days} days` };
      const before = Date.now() - days * 86_400_000;
      for (let n = PURGE_CHUNK; n === PURGE_CHUNK && !this.stopped;) {
        n = await this.o.store.purgeFinishedBefore(before, by, PURGE_CHUNK);
        removed += n;
      }
    } catch (err) {
      this.o.logger.error({ err }, 'retention failed');
    } finally {
      this.purging = false;
      if (removed) this.o.logger.info({ removed }, 'retention removed finished tasks');
    }
  }
}
