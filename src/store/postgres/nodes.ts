/**
 * What several nodes sharing one PostgreSQL schema need of each other: liveness (heartbeats and
 * the tasks a dead node leaves behind) and the credentials each node publishes.
 */
import pg from 'pg';
import { credentialFromRow } from '../rows.js';
import type { CredentialDirectory, NodeRegistry } from '../types.js';
import type { CredentialRecord } from '../../auth/records.js';
import type { PgDb } from './db.js';
import * as plans from './plans.js';

export class PostgresNodes implements NodeRegistry {
  /** The connection that holds this process's node claim (an advisory lock ends with it). */
  private claim: pg.Client | null = null;

  constructor(private readonly db: PgDb) {}

  /**
   * Asked again for up to 5 s: the claim of a process just killed (kill -9, then a restart) ends
   * only once PostgreSQL has noticed its connection closed.
   */
  async claimNode(node: string): Promise<boolean> {
    const client = new pg.Client(this.db.config);
    client.on('error', () => {});
    await client.connect();
    for (const until = Date.now() + 5000; ;) {
      const [row] = (await client.query(plans.claimNode, [node])).rows;
      if (row?.claimed === true) break;
      if (Date.now() > until) {
        await client.end().catch(() => {});
        return false;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    this.claim = client;
    return true;
  }

  async releaseClaim(): Promise<void> {
    await this.claim?.end().catch(() => {});
    this.claim = null;
  }

  async heartbeatNode(node: string, now: number): Promise<void> {
    await this.db.run(plans.heartbeatNode, [node, now], this.db.control);
  }

  async nodeStopped(node: string, now: number): Promise<void> {
    await this.db.run(plans.markNodeStopped, [node, now], this.db.control);
  }

  async nodeHeartbeats(): Promise<Map<string, number>> {
    const rows = await this.db.q(plans.nodeHeartbeats);
    return new Map(rows.map((r) => [String(r.node), Number(r.heartbeat_at)]));
  }

  async failOrphanedTasks(staleBefore: number, now: number, errorCode: string): Promise<{ id: string; name: string }[]> {
    return this.db.tx(async (c) => {
      const orphans = await this.db.q(plans.orphanedTasks, [now, staleBefore], c);
      for (const o of orphans) {
        const where = o.last_step
          // What the client must know: the instance runs as that step left it until the node
          // returns and starts it from the configuration recorded then — which holds the part of
          // this task's change a finished step recorded (a port moved, a replica added, roles
          // swapped) and nothing of the rest: show-instance says which.
          ? `after its step ${String(o.last_step)} had finished: the instance runs as that step left it until the node is back, ` +
            'which starts it again from its recorded configuration (with what of this task\'s change its finished steps recorded; show the instance to see it)'
          : 'before any of its steps had finished';
        const reason = `The service node ${String(o.owner_node)} that supervises this instance stopped (no heartbeat); ` +
          `the task was stopped ${where}.`;
        await this.db.run(plans.failRunningSteps, [o.id, now, errorCode], c);
        await this.db.run(plans.failOrphan, [o.id, reason, now, errorCode], c);
      }
      return orphans.map((o) => ({ id: String(o.id), name: String(o.name) }));
    });
  }
}

export class PostgresCredentials implements CredentialDirectory {
  constructor(private readonly db: PgDb) {}

  async publishCredentials(node: string, credentials: CredentialRecord[]): Promise<void> {
    await this.db.tx(async (c) => {
      await this.db.run(plans.deleteNodeCredentials, [node], c);
      const now = Date.now();
      for (const k of credentials) {
        await this.db.run(plans.insertCredential, [node, k.accessKey, k.secretKey, k.projectId, k.userId, k.userName, k.role, now], c);
      }
    });
  }

  async listCredentials(): Promise<CredentialRecord[]> {
    return (await this.db.q(plans.listCredentials)).map(credentialFromRow);
  }
}
