/**
 * InstanceRuntime: the live side of an instance record. It starts and stops the managed
 * redis-server through the supervisor, knows how to reach any instance (managed or attached),
 * re-applies the stored configuration after every start, and mirrors process health into the
 * instance's status.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { InstanceRecord, Store } from '../store/types.js';
import type { RedisSupervisor, ManagedRedisSpec } from '../redis/supervisor.js';
import { configSet, parseRedisUrl, ping, type RedisTarget } from '../redis/commands.js';

const GB = 1024 * 1024 * 1024;

export class InstanceRuntime {
  constructor(
    private readonly store: Store,
    private readonly supervisor: RedisSupervisor,
    private readonly dataDir: string,
    private readonly logger: Logger,
  ) {
    supervisor.on('down', (id: string) => void this.markStatus(id, 'ERROR'));
    supervisor.on('up', (id: string) => void this.onUp(id));
  }

  dirOf(id: string): string {
    return path.join(this.dataDir, 'instances', id);
  }

  specOf(i: InstanceRecord, password = i.password): ManagedRedisSpec {
    return {
      instanceId: i.id,
      host: i.host,
      port: i.port,
      password,
      maxmemoryBytes: Math.round(i.capacityGb * GB),
      dir: this.dirOf(i.id),
    };
  }

  /** How to reach the instance, with the password in force (or the given one). */
  targetOf(i: InstanceRecord, password = i.password): RedisTarget {
    if (i.managed) return { host: i.host, port: i.port, password };
    const t = parseRedisUrl(i.redisUrl!);
    return { ...t, password, username: i.username ?? t.username ?? null };
  }

  /** Starts a managed instance (or checks an attached one) and records RUNNING or ERROR. */
  async bringUp(i: InstanceRecord): Promise<void> {
    try {
      if (i.managed) {
        await this.supervisor.start(this.specOf(i));
        await this.applyStoredConfigs(i);
      } else if (!(await ping(this.targetOf(i)))) {
        throw new Error('the attached Redis does not answer');
      }
      await this.markStatus(i.id, 'RUNNING');
    } catch (err) {
      this.logger.error({ err, instance_id: i.id }, 'instance could not be started');
      await this.markStatus(i.id, 'ERROR');
    }
  }

  async restart(i: InstanceRecord): Promise<void> {
    if (!this.supervisor.spec(i.id)) await this.supervisor.start(this.specOf(i));
    else await this.supervisor.restart(i.id);
    await this.applyStoredConfigs(i);
  }

  async stop(id: string, removeFiles: boolean): Promise<void> {
    if (this.supervisor.spec(id)) await this.supervisor.stop(id, { removeFiles });
  }

  /** Later (re)starts of a managed Redis must use the password now in force. */
  passwordChanged(id: string, password: string | null): void {
    if (this.supervisor.spec(id)) this.supervisor.update(id, { password });
  }

  isUp(i: InstanceRecord): boolean {
    return !i.managed || this.supervisor.isUp(i.id);
  }

  /** Configuration changed through the API lives in the record, so a restart keeps it. */
  async applyStoredConfigs(i: InstanceRecord): Promise<void> {
    const configs = (i.extra.configs ?? {}) as Record<string, string>;
    for (const [name, value] of Object.entries(configs)) await configSet(this.targetOf(i), name, value);
  }

  private async onUp(id: string): Promise<void> {
    const i = await this.store.getInstanceById(id);
    if (!i) return;
    await this.applyStoredConfigs(i).catch((err) => this.logger.warn({ err, instance_id: id }, 'stored configuration not re-applied'));
    await this.markStatus(id, 'RUNNING');
  }

  private async markStatus(id: string, status: InstanceRecord['status']): Promise<void> {
    await this.store.updateInstance(id, { status }).catch((err) => this.logger.error({ err, instance_id: id }, 'status not recorded'));
  }
}
