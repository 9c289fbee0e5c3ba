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
import type { Actor, TaskService } from '../tasks/service.js';
import type { InstanceRuntime } from './runtime.js';
import { TASK_NAMES } from './operations.js';
import { checkCapacity, checkConfigChanges, checkPasswordComplexity, type ConfigChange } from './rules.js';

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

export interface ResizeBody {
  spec_code?: string;
  new_capacity?: number;
  change_type?: 'createReplication' | 'deleteReplication';
  node_list?: string[];
  replica_num?: number;
}

export interface ModifyBody {
  name?: string;
  description?: string;
  port?: number;
}

const MAX_REPLICAS = 5;

export type InstanceAction = 'restart' | 'soft_restart' | 'flush';

const ACTION_TASK: Record<InstanceAction, string> = {
  restart: TASK_NAMES.restart,
  soft_restart: TASK_NAMES.softRestart,
  flush: TASK_NAMES.flush,
};

export class InstanceService {
  constructor(
    private readonly store: Store,
    private readonly tasks: TaskService,
    private readonly runtime: InstanceRuntime,
    private readonly supervisor: RedisSupervisor,
    private readonly logger: Logger,
    private readonly nodeId: string | null,
    /** Multi-node: which service nodes are running (read once per call). */
    private readonly nodeLiveness: () => Promise<(node: string) => boolean> = async () => () => true,
    /** Instances a project may have (README "Limits"). */
    private readonly instanceQuota = 20,
  ) {}

  /** Creations of one project run one at a time, so concurrent creates cannot overrun the quota. */
  private readonly creating = new Map<string, Promise<unknown>>();

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
  private async operable(projectId: string, id: string): Promise<InstanceRecord> {
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
    const run = (this.creating.get(projectId) ?? Promise.resolve()).catch(() => {}).then(() => this.createWithinQuota(projectId, b));
    this.creating.set(projectId, run);
    try {
      return await run;
    } finally {
      if (this.creating.get(projectId) === run) this.creating.delete(projectId);
    }
  }

  private async createWithinQuota(projectId: string, b: CreateInstance): Promise<InstanceRecord> {
    checkCapacity('capacity', b.capacity);
    if (b.password !== undefined) checkPasswordComplexity(b.password);
    else if (!b.no_password_access && !b.redis_url) {
      throw Errors.badParam('password', 'a password is required unless no_password_access is true.');
    }
    if ((await this.store.listInstances(projectId)).length >= this.instanceQuota) throw Errors.instanceQuota(this.instanceQuota);
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
    if (out === 'not_found') throw Errors.instanceNotFound();
    if (out === 'busy') throw Errors.instanceDeleteRefused();
    if (i.managed) {
      await this.runtime.stop(i, true).catch((err) => this.logger.error({ err, instance_id: id }, 'stopping a deleted instance failed'));
    }
  }

  /** PUT /instances/status: every instance is checked first, so a refused request starts nothing. */
  async act(projectId: string, ids: string[], action: InstanceAction, actor: Actor) {
    const instances = [];
    for (const id of ids) instances.push(await this.operable(projectId, id));
    if ((action === 'restart' || action === 'soft_restart') && instances.some((i) => !i.managed)) {
      throw Errors.badParam('action', `${action} applies to managed instances only; an attached Redis is restarted by its owner.`);
    }
    const results = [];
    for (const instance of instances) {
      try {
        await this.tasks.start({ instance, name: ACTION_TASK[action], actor, params: { action, instances: [instance.id] } });
        results.push({ instance: instance.id, result: 'success' as const });
      } catch (e) {
        if (instances.length === 1) throw e;
        results.push({ instance: instance.id, result: 'failed' as const });
      }
    }
    return results;
  }

  async changePassword(projectId: string, id: string, oldPassword: string | null, newPassword: string, actor: Actor) {
    const instance = await this.operable(projectId, id);
    checkPasswordComplexity(newPassword);
    if ((oldPassword ?? '') !== (instance.password ?? '')) throw Errors.oldPasswordWrong();
    if (newPassword === oldPassword) throw Errors.passwordComplexity('the new password must differ from the old one.');
    return this.tasks.start({
      instance, name: TASK_NAMES.password, actor, params: { instance_id: id }, instancePatch: { pendingPassword: newPassword },
    });
  }

  /** POST /resize: capacity (EXTEND) or replicas (AddReplica / DelReplica). */
  async resize(projectId: string, id: string, b: ResizeBody, actor: Actor) {
    const instance = await this.operable(projectId, id);
    const params = { ...b };
    if (b.change_type === 'createReplication' || b.change_type === 'deleteReplication') {
      if (!instance.managed) throw Errors.badParam('change_type', 'replicas can be added to managed instances only.');
      const replicas = instance.nodes.filter((n) => n.role === 'replica');
      if (b.change_type === 'createReplication') {
        const count = b.replica_num ?? 1;
        if (replicas.length + count > MAX_REPLICAS) throw Errors.badParam('replica_num', `an instance has at most ${MAX_REPLICAS} replicas.`);
        return this.tasks.start({
          instance, name: TASK_NAMES.addReplica, actor, params, state: { count },
          details: { old_replica_num: replicas.length, new_replica_num: replicas.length + count },
        });
      }
      const remove = b.node_list?.length ? b.node_list : replicas.slice(-1).map((n) => n.name);
      if (remove.length === 0) throw Errors.noReplica();
      for (const name of remove) {
        if (!replicas.some((n) => n.name === name)) throw Errors.badParam('node_list', `${name} is not a replica of this instance.`);
      }
      return this.tasks.start({
        instance, name: TASK_NAMES.delReplica, actor, params, state: { remove },
        details: { old_replica_num: replicas.length, new_replica_num: replicas.length - remove.length },
      });
    }
    if (b.new_capacity === undefined) throw Errors.badParam('new_capacity', 'is required.');
    checkCapacity('new_capacity', b.new_capacity);
    if (b.new_capacity === instance.capacityGb) throw Errors.badParam('new_capacity', 'is the current capacity.');
    return this.tasks.start({
      instance, name: TASK_NAMES.extend, actor, params, state: { newCapacity: b.new_capacity },
      details: { old_capacity: String(instance.capacityGb), new_capacity: String(b.new_capacity) },
    });
  }

  /** POST /swap: the standby becomes master on the instance's address. */
  async swap(projectId: string, id: string, actor: Actor) {
    const instance = await this.operable(projectId, id);
    const standby = instance.nodes.find((n) => n.role === 'replica');
    if (!instance.managed || !standby) throw Errors.noReplica();
    const master = instance.nodes.find((n) => n.role === 'master')!;
    return this.tasks.start({
      instance, name: TASK_NAMES.swap, actor, params: {}, state: { standby: standby.name },
      details: { node_name: standby.name, source_ip: `${instance.host}:${standby.port}`, target_ip: `${instance.host}:${master.port}` },
    });
  }

  /** PUT /instances/{id}: name and description change at once; a new port is an UpdatePort task. */
  async modify(projectId: string, id: string, b: ModifyBody, actor: Actor) {
    const instance = await this.operable(projectId, id);
    if (b.port !== undefined && b.port !== instance.port) {
      if (!instance.managed) throw Errors.badParam('port', 'the port of an attached Redis is changed by its owner.');
      if (!(await isPortFree(b.port))) throw Errors.badParam('port', `port ${b.port} is already in use on this host.`);
    }
    const patch: Partial<InstanceRecord> = {};
    if (b.name !== undefined) patch.name = b.name;
    if (b.description !== undefined) patch.extra = { ...instance.extra, description: b.description };
    if (b.port !== undefined && b.port !== instance.port) {
      await this.tasks.start({
        instance, name: TASK_NAMES.port, actor, params: { port: b.port }, state: { newPort: b.port },
        details: { old_port: instance.port, new_port: b.port },
      });
    }
    if (Object.keys(patch).length) await this.store.updateInstance(id, patch);
  }

  async modifyConfigs(projectId: string, id: string, changes: ConfigChange[], actor: Actor) {
    const instance = await this.operable(projectId, id);
    checkConfigChanges(changes);
    const map = Object.fromEntries(changes.map((c) => [c.param_name, c.param_value]));
    return this.tasks.start({
      instance, name: TASK_NAMES.configs, actor,
      params: { redis_config: changes },
      details: { updated_config_length: changes.length },
      state: { changes: map },
    });
  }
}

/** A managed instance whose supervising node is down: nobody can run its tasks until it is back. */
function orphaned(i: InstanceRecord, alive: (node: string) => boolean): boolean {
  return i.managed && i.ownerNode !== null && !alive(i.ownerNode);
}
