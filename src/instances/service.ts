/**
 * InstanceService: creating, reading and deleting instances, and the DCS operations on them,
 * each of which becomes a background task.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Errors } from '../errors.js';
import type { InstanceRecord } from './records.js';
import type { Store } from '../store/types.js';
import type { RedisSupervisor } from '../redis/supervisor.js';
import { isPortFree, findFreePort } from '../redis/ports.js';
import { parseRedisUrl, ping } from '../redis/commands.js';
import { busyError } from '../tasks/service.js';
import type { InstanceRuntime } from './runtime.js';
import { checkPasswordComplexity } from './rules.js';

export interface CreateInstance {
  name: string;
  engine: string;
  engine_version: string;
  capacity: number;
  password?: string;
  no_password_access?: boolean;
  port?: number;
  redis_url?: string;
  spec_code?: string;
  description?: string;
}

export class InstanceService {
  constructor(
    private readonly store: Store,
    private readonly runtime: InstanceRuntime,
    private readonly supervisor: RedisSupervisor,
    private readonly logger: Logger,
    private readonly nodeId: string | null,
    /** Multi-node: which service nodes are running (read once per call). */
    private readonly nodeLiveness: () => Promise<(node: string) => boolean> = async () => () => true,
  ) {}

  /** As stored, except that a managed instance whose node is down shows ERROR. */
  async get(projectId: string, id: string): Promise<InstanceRecord> {
    const { instance, orphaned } = await this.lookup(projectId, id);
    return orphaned ? { ...instance, status: 'ERROR' } : instance;
  }

  async list(projectId: string): Promise<InstanceRecord[]> {
    const [all, alive] = await Promise.all([this.store.listInstances(projectId), this.nodeLiveness()]);
    return all.map((i) => (orphaned(i, alive) ? { ...i, status: 'ERROR' as const } : i));
  }

  /** An instance an operation may change: it exists and the node supervising it is running. */
  async operable(projectId: string, id: string): Promise<InstanceRecord> {
    const { instance, orphaned } = await this.lookup(projectId, id);
    if (orphaned) {
      throw Errors.instanceBusy('DCS.4026', `supervised by service node ${instance.ownerNode}, which is not running (status ERROR)`);
    }
    return instance;
  }

  /** The stored instance (404 when unknown) and whether its supervising node is down. */
  private async lookup(projectId: string, id: string): Promise<{ instance: InstanceRecord; orphaned: boolean }> {
    const [instance, alive] = await Promise.all([this.store.getInstance(projectId, id), this.nodeLiveness()]);
    if (!instance) throw Errors.instanceNotFound();
    return { instance, orphaned: orphaned(instance, alive) };
  }

  async create(projectId: string, b: CreateInstance): Promise<InstanceRecord> {
    if (b.password !== undefined) checkPasswordComplexity(b.password);
    else if (!b.no_password_access && !b.redis_url) {
      throw Errors.badParam('password', 'a password is required unless no_password_access is true.');
    }
    const now = Date.now();
    const base = {
      id: randomUUID(),
      projectId,
      name: b.name,
      engine: 'Redis',
      engineVersion: b.engine_version,
      capacityGb: b.capacity,
      pendingPassword: null,
      extra: { spec_code: b.spec_code ?? null, description: b.description ?? null },
      createdAt: now,
      updatedAt: now,
    };
    if (b.redis_url) {
      const i: InstanceRecord = { ...base, ...(await this.attachable(b.redis_url, b.password)), nodes: [], ownerNode: null };
      await this.store.insertInstance(i);
      return i;
    }
    if (!(await this.supervisor.available())) {
      throw Errors.redisUnavailable(
        'Managed instances need redis-server, which is not installed here: install it (apt-get install redis-server) ' +
          'or attach an existing Redis with "redis_url".',
      );
    }
    if (b.port !== undefined && !(await isPortFree(b.port))) throw Errors.badParam('port', `port ${b.port} is already in use on this host.`);
    const port = b.port ?? (await findFreePort());
    const i: InstanceRecord = {
      ...base, host: '127.0.0.1', port, status: 'CREATING', managed: true, redisUrl: null,
      password: b.password ?? null, username: null, ownerNode: this.nodeId,
      nodes: [{ name: 'node-0', port, role: 'master' }],
    };
    await this.store.insertInstance(i);
    void this.runtime.bringUp(i);
    return i;
  }

  /** Checks that an existing Redis answers before it is attached; the URL is kept without its password. */
  private async attachable(url: string, password: string | undefined) {
    let t;
    try {
      t = parseRedisUrl(url);
    } catch (e) {
      throw Errors.badParam('redis_url', (e as Error).message);
    }
    const pw = password ?? t.password ?? null;
    if (!(await ping({ ...t, password: pw }))) {
      throw Errors.redisUnavailable(`The Redis at ${t.host}:${t.port} does not answer (or refuses the password); nothing was attached.`);
    }
    const clean = new URL(url);
    clean.password = '';
    clean.username = t.username ?? '';
    return {
      host: t.host, port: t.port, status: 'RUNNING' as const, managed: false, redisUrl: clean.toString(),
      password: pw, username: t.username ?? null,
    };
  }

  async delete(projectId: string, id: string): Promise<void> {
    const i = await this.operable(projectId, id);
    const out = await this.store.deleteInstance(projectId, id);
    if (out.outcome === 'not_found') throw Errors.instanceNotFound();
    if (out.outcome === 'busy') throw busyError(out.activeTask.name);
    if (out.outcome === 'in_migration') throw Errors.instanceInMigration(out.migrationId);
    if (i.managed) {
      await this.runtime.stop(i, true).catch((err) => this.logger.error({ err, instance_id: id }, 'stopping a deleted instance failed'));
    }
  }

  /** Name and description: no task, the record changes at once. */
  async rename(instance: InstanceRecord, b: { name?: string; description?: string }): Promise<void> {
    const patch: Partial<InstanceRecord> = {};
    if (b.name !== undefined) patch.name = b.name;
    if (b.description !== undefined) patch.extra = { ...instance.extra, description: b.description };
    if (Object.keys(patch).length) await this.store.updateInstance(instance.id, patch);
  }
}

/** A managed instance whose supervising node is down: nobody can run its tasks until it is back. */
function orphaned(i: InstanceRecord, alive: (node: string) => boolean): boolean {
  return i.managed && i.ownerNode !== null && !alive(i.ownerNode);
}
