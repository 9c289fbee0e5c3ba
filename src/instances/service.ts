/**
 * InstanceService: creating, reading and deleting instances, and the DCS operations on them,
 * each of which becomes a background task.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Errors } from '../errors.js';
import type { InstanceRecord, Store } from '../store/types.js';
import type { RedisSupervisor } from '../redis/supervisor.js';
import { isPortFree, findFreePort } from '../redis/ports.js';
import { parseRedisUrl, ping } from '../redis/commands.js';
import type { Actor, TaskService } from '../tasks/service.js';
import type { InstanceRuntime } from './runtime.js';
import { TASK_NAMES } from './operations.js';
import { checkConfigChanges, checkPasswordComplexity, type ConfigChange } from './rules.js';

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
  ) {}

  async get(projectId: string, id: string): Promise<InstanceRecord> {
    const i = await this.store.getInstance(projectId, id);
    if (!i) throw Errors.instanceNotFound();
    return i;
  }

  list(projectId: string): Promise<InstanceRecord[]> {
    return this.store.listInstances(projectId);
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
      const i: InstanceRecord = { ...base, ...(await this.attachable(b.redis_url, b.password)), ownerNode: null };
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
    const i = await this.get(projectId, id);
    const out = await this.store.deleteInstance(projectId, id);
    if (out === 'not_found') throw Errors.instanceNotFound();
    if (out === 'busy') throw Errors.instanceDeleteRefused();
    if (i.managed) {
      await this.runtime.stop(id, true).catch((err) => this.logger.error({ err, instance_id: id }, 'stopping a deleted instance failed'));
    }
  }

  /** PUT /instances/status: every instance is checked first, so a refused request starts nothing. */
  async act(projectId: string, ids: string[], action: InstanceAction, actor: Actor) {
    const instances = [];
    for (const id of ids) instances.push(await this.get(projectId, id));
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
    const instance = await this.get(projectId, id);
    checkPasswordComplexity(newPassword);
    if ((oldPassword ?? '') !== (instance.password ?? '')) throw Errors.oldPasswordWrong();
    if (newPassword === oldPassword) throw Errors.passwordComplexity('the new password must differ from the old one.');
    return this.tasks.start({
      instance, name: TASK_NAMES.password, actor, params: { instance_id: id }, instancePatch: { pendingPassword: newPassword },
    });
  }

  async modifyConfigs(projectId: string, id: string, changes: ConfigChange[], actor: Actor) {
    const instance = await this.get(projectId, id);
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
