/**
 * InstanceService: creating, reading and deleting instances, and the DCS operations on them,
 * each of which becomes a background task.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Logger } from 'pino';
import { Errors } from '../errors.js';
import type { InstancePatch, InstanceRecord, NodeRecord } from './records.js';
import { checkFlavor, flavorOf } from './flavors.js';
import type { Store } from '../store/types.js';
import type { TaskRecord } from '../tasks/records.js';
import type { RedisSupervisor } from '../redis/supervisor.js';
import { isPortFree, freePortBesides } from '../redis/ports.js';
import { configGet, infoSection, parseRedisUrl, ping } from '../redis/commands.js';
import { busyError } from '../tasks/service.js';
import type { InstanceRuntime } from './runtime.js';
import { aclAccountsShown, type AclAccount } from './acl.js';
import type { CreateInstance } from './schemas.js';

export type { CreateInstance };
import { instanceBackupsDirOf } from '../records/files.js';
import { checkCapacity, checkMaintainWindow, checkPasswordComplexity, describeParameters } from './rules.js';
import { matchesFilter, runningTaskOf, tagsOf, visibleStatus, type InstanceFilter, type InstanceState } from './listing.js';
import type { Actor } from '../tasks/service.js';
import { DcsError, NodeDown } from '../errors.js';
import { isUuid } from '../ids.js';

/** Create fields DCS echoes back on show (cloud network, window, tags…): kept as sent. */
const ECHOED_FIELDS = [
  'vpc_id', 'vpc_name', 'subnet_id', 'subnet_name', 'subnet_cidr', 'security_group_id', 'security_group_name', 'enterprise_project_id',
  'maintain_begin', 'maintain_end', 'access_user', 'tags', 'az_codes',
] as const;

/** What PUT …/instances/{id} changes in the record itself (ModifyInstanceBody's fields that need no task). */
export interface InstanceRecordChange {
  name?: string;
  description?: string;
  maintain_begin?: string;
  maintain_end?: string;
  security_group_id?: string;
}

/** Tags on one instance (the create body's limit, and DCS's). */
export const MAX_TAGS = 20;
/** A tag change that keeps finding the record changed by other nodes gives up after this many reads. */
const TAG_WRITE_ATTEMPTS = 50;

/** How long a read shown beside a record (used memory, statistics, parameters) waits for Redis. */
const LIVE_READ_MS = 500;

export class InstanceService {
  /** The last used_memory each instance's Redis reported (MB), shown while it is too busy to answer. */
  private readonly lastUsedMb = new Map<string, number>();
  /** The last of the work queued under each key (see inTurn): creates, each instance's tag changes. */
  private readonly turns = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly runtime: InstanceRuntime,
    private readonly supervisor: RedisSupervisor,
    private readonly logger: Logger,
    private readonly nodeId: string | null,
    /** Multi-node: which service nodes are running (read once per call). */
    private readonly nodeLiveness: () => Promise<(node: string) => boolean> = async () => () => true,
    /** Instances a project may have (README "Limits"). */
    private readonly instanceQuota = 20,
  ) {}

  /** As stored, except that a managed instance whose node is down shows ERROR. */
  async get(projectId: string, id: string): Promise<InstanceRecord> {
    const { instance, orphaned } = await this.lookup(projectId, id);
    return orphaned ? { ...instance, status: 'ERROR' } : instance;
  }

  /** The instance with its running task (automation.md §1.1): the task row the accepting transaction wrote. */
  async show(projectId: string, id: string): Promise<InstanceState> {
    const { instance, running } = await this.withRunningTask(projectId, id);
    return { instance, task: running ? runningTaskOf(running) : null };
  }

  /** The instance and its ACL accounts as shown (aclAccountsShown: read with its running task). */
  async accounts(projectId: string, id: string): Promise<{ instance: InstanceRecord; accounts: AclAccount[] }> {
    const { instance, running } = await this.withRunningTask(projectId, id);
    return { instance, accounts: aclAccountsShown(instance, running) };
  }

  /** The instance and the task running on it, if any: read together. */
  private async withRunningTask(projectId: string, id: string): Promise<{ instance: InstanceRecord; running: TaskRecord | undefined }> {
    const [instance, active] = await Promise.all([this.get(projectId, id), this.store.activeTasks(projectId)]);
    return { instance, running: active.find((a) => a.instanceId === id) };
  }

  /** Every instance of the project with its running task, newest first. */
  async states(projectId: string): Promise<InstanceState[]> {
    const [all, active] = await Promise.all([this.list(projectId), this.store.activeTasks(projectId)]);
    const byInstance = new Map(active.map((t) => [t.instanceId, runningTaskOf(t)]));
    return all.map((instance) => ({ instance, task: byInstance.get(instance.id) ?? null }));
  }

  /** ListInstances: the filters, then one page (offset past the end: an empty page); total counts every match. */
  async search(projectId: string, f: InstanceFilter, offset: number, limit: number): Promise<{ total: number; page: InstanceState[] }> {
    const matching = (await this.states(projectId)).filter((s) => matchesFilter(s, f));
    return { total: matching.length, page: matching.slice(offset, offset + limit) };
  }

  /** InstanceStatistic of each running instance, from its INFO (zeros where Redis does not answer). */
  async statistics(projectId: string) {
    const running = (await this.states(projectId)).filter((s) => visibleStatus(s) === 'RUNNING');
    return Promise.all(running.map(async ({ instance: i }) => {
      const info = await infoSection(this.runtime.targetOf(i), 'everything', { timeoutMs: LIVE_READ_MS }).catch(() => ({} as Record<string, string>));
      const keys = Object.entries(info).filter(([k]) => /^db\d+$/.test(k)).reduce((n, [, v]) => n + Number(/keys=(\d+)/.exec(v)?.[1] ?? 0), 0);
      const calls = (name: string) => Number(/calls=(\d+)/.exec(info[`cmdstat_${name}`] ?? '')?.[1] ?? 0);
      return {
        instance_id: i.id, keys, used_memory: Math.floor(Number(info.used_memory ?? 0) / 1048576), max_memory: Math.floor(i.capacityGb * 1024),
        cmd_get_count: calls('get'), cmd_set_count: calls('set'), used_cpu: info.used_cpu_sys ?? '0',
        input_kbps: info.instantaneous_input_kbps ?? '0', output_kbps: info.instantaneous_output_kbps ?? '0',
      };
    }));
  }

  /**
   * INFO memory's used_memory in MB; when Redis does not answer within LIVE_READ_MS (busy with a
   * FLUSHALL, loading a restore, paused) the last value it gave, else 0: a show or a list never
   * waits for a busy Redis (the provider polls show-instance through every wait).
   */
  async usedMemoryMb(i: InstanceRecord): Promise<number> {
    try {
      const mem = await infoSection(this.runtime.targetOf(i), 'memory', { timeoutMs: LIVE_READ_MS });
      const mb = Math.floor(Number(mem.used_memory ?? 0) / (1024 * 1024));
      this.lastUsedMb.set(i.id, mb);
      return mb;
    } catch {
      return this.lastUsedMb.get(i.id) ?? 0;
    }
  }

  /** The changeable parameters with their values in Redis now (CONFIG GET), or as recorded when Redis does not answer. */
  async configs(projectId: string, id: string) {
    const i = await this.get(projectId, id);
    const stored = (i.extra.configs ?? {}) as Record<string, string>;
    const params = describeParameters();
    const live = await Promise.all(params.map((p) => configGet(this.runtime.targetOf(i), p.param_name, { timeoutMs: LIVE_READ_MS }).catch(() => null)));
    return {
      instance: i,
      params: params.map((p, k) => ({ ...p, param_value: live[k] ?? stored[p.param_name] ?? p.default_value })),
    };
  }

  async list(projectId: string): Promise<InstanceRecord[]> {
    const [all, alive] = await Promise.all([this.store.listInstances(projectId), this.nodeLiveness()]);
    return all.map((i) => (orphaned(i, alive) ? { ...i, status: 'ERROR' as const } : i));
  }

  /** An instance an operation may change: it exists and the node supervising it is running. */
  async operable(projectId: string, id: string): Promise<InstanceRecord> {
    const { instance, orphaned } = await this.lookup(projectId, id);
    if (orphaned) {
      // automation.md §1.3: no task runs and the status shown is ERROR.
      throw new NodeDown(instance.ownerNode);
    }
    return instance;
  }

  /** The stored instance (404 when unknown) and whether its supervising node is down. */
  private async lookup(projectId: string, id: string): Promise<{ instance: InstanceRecord; orphaned: boolean }> {
    const [instance, alive] = await Promise.all([this.store.getInstance(projectId, id), this.nodeLiveness()]);
    if (!instance) throw Errors.instanceNotFound();
    return { instance, orphaned: orphaned(instance, alive) };
  }

  async create(projectId: string, b: CreateInstance, creator?: Actor): Promise<InstanceRecord> {
    checkCapacity('capacity', b.capacity);
    checkFlavor(b.spec_code, b.capacity, 'capacity');
    checkMaintainWindow(b.maintain_begin, b.maintain_end);
    if (b.password !== undefined && b.no_password_access === true) {
      throw Errors.badParam('no_password_access', 'give either password or no_password_access: true, not both.');
    }
    if (b.password !== undefined) checkPasswordComplexity(b.password);
    else if (!b.no_password_access && !b.redis_url) {
      throw Errors.badParam('password', 'a password is required unless no_password_access is true.');
    }
    // A project at its quota is refused before anything is checked or started; the insert below
    // checks again, atomically, for creates racing this one (on this node or another).
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
      extra: {
        spec_code: b.spec_code ?? null, description: b.description ?? null,
        ...Object.fromEntries(ECHOED_FIELDS.filter((k) => b[k] !== undefined).map((k) => [k, b[k]])),
        ...(creator ? { user_id: creator.userId, user_name: creator.userName } : {}),
      },
      createdAt: now,
      updatedAt: now,
    };
    if (b.redis_url) {
      // An attached Redis answered before it was attached: it is running from the start.
      const i: InstanceRecord = { ...base, ...(await this.attachable(b.redis_url, b.password)), nodes: [], ownerNode: null, launchedAt: now };
      await this.insertWithinQuota(i);
      return i;
    }
    if (!(await this.supervisor.available())) {
      throw Errors.redisUnavailable(
        `Managed instances need redis-server: ${this.supervisor.binary} cannot be run here. Install it (apt-get install redis-server), ` +
          'point --redis-server at it, or attach an existing Redis with "redis_url".',
      );
    }
    // Ports are chosen and recorded one create at a time, so two creates never pick the same one.
    const i = await this.inTurn('create', async (): Promise<InstanceRecord> => {
      const taken = await this.store.heldPorts();
      if (b.port !== undefined) await this.checkPortAvailable(b.port, taken);
      const port = b.port ?? (await freePortBesides(taken));
      taken.add(port);
      // An ha spec_code (flavors.ts) is a master with its replica from the start, as in DCS.
      const nodes: NodeRecord[] = [{ name: 'node-0', port, role: 'master' }];
      for (let k = 1; k < (flavorOf(b.spec_code)?.replica_count ?? 1); k++) {
        const replicaPort = await freePortBesides(taken);
        taken.add(replicaPort);
        nodes.push({ name: `node-${k}`, port: replicaPort, role: 'replica' });
      }
      const created: InstanceRecord = {
        ...base, host: '127.0.0.1', port, status: 'CREATING', managed: true, redisUrl: null,
        password: b.password ?? null, username: null, ownerNode: this.nodeId, nodes, launchedAt: null,
      };
      // The store checks the ports again with the insert, against creates on other nodes.
      await this.insertWithinQuota(created);
      return created;
    });
    void this.runtime.bringUp(i);
    return i;
  }

  /**
   * A port a client asks for (create, UpdatePort): 400 when another instance's node records it —
   * every managed instance shows host 127.0.0.1, and one whose redis-server is down for the
   * moment would not come back on a port taken meanwhile — or when something else listens on it.
   */
  async checkPortAvailable(port: number, taken?: Set<number>): Promise<void> {
    if ((taken ?? (await this.store.heldPorts())).has(port)) throw Errors.portOfAnotherInstance(port);
    if (!(await isPortFree(port))) throw Errors.badParam('port', `port ${port} is already in use on this host.`);
  }

  /** Runs `fn` after the work queued under `key` before it, in this process: one at a time per key. */
  private inTurn<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.turns.get(key) ?? Promise.resolve()).then(fn);
    const settled = run.then(() => undefined, () => undefined);
    this.turns.set(key, settled);
    void settled.then(() => { if (this.turns.get(key) === settled) this.turns.delete(key); });
    return run;
  }

  private async insertWithinQuota(i: InstanceRecord): Promise<void> {
    const out = await this.store.insertInstance(i, this.instanceQuota);
    if (out.outcome === 'over_quota') throw Errors.instanceQuota(this.instanceQuota);
    if (out.outcome === 'port_taken') throw Errors.portOfAnotherInstance(out.port);
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
    if (i.status === 'CREATING') throw Errors.instanceBusy('DCS.4118', 'still being created');
    const out = await this.store.deleteInstance(projectId, id);
    if (out.outcome === 'not_found') throw Errors.instanceNotFound();
    if (out.outcome === 'busy') throw busyError(out.activeTask.name);
    if (out.outcome === 'in_migration') throw Errors.instanceInMigration(out.migrationId);
    fs.rmSync(instanceBackupsDirOf(this.runtime.dataDir, id), { recursive: true, force: true });
    if (i.managed) {
      await this.runtime.stop(i, true).catch((err) => this.logger.error({ err, instance_id: id }, 'stopping a deleted instance failed'));
    }
  }

  /**
   * BatchDeleteInstances: the listed instances, or with 'all_failure' every CREATEFAILED one. Each
   * is deleted as the single delete would be; one that is malformed, unknown or busy is `failed`
   * and the others go on.
   */
  async batchDelete(projectId: string, ids: unknown[] | 'all_failure' | undefined): Promise<{ instance: string; result: 'success' | 'failed' }[]> {
    if (ids === undefined) throw Errors.badParam('instances', 'is required (1 to 50 instance ids) unless all_failure=true.');
    const targets = ids === 'all_failure'
      ? (await this.list(projectId)).filter((i) => i.status === 'CREATEFAILED').map((i) => i.id)
      : (ids as string[]);
    const results = [];
    for (const id of targets) {
      try {
        if (!isUuid(id)) throw Errors.badInstanceId();
        await this.delete(projectId, id);
        results.push({ instance: id, result: 'success' as const });
      } catch (e) {
        if (!(e instanceof DcsError)) throw e;
        results.push({ instance: id, result: 'failed' as const });
      }
    }
    return results;
  }

  /**
   * BatchCreateOrDeleteTags: `create` sets each key's value (a key is on an instance once, at most
   * MAX_TAGS keys), `delete` removes the keys given (only with that value, when one is given).
   * No task: the record changes at once.
   */
  async changeTags(projectId: string, id: string, action: 'create' | 'delete', tags: { key: string; value?: string }[]): Promise<void> {
    // Read, change, write: one change of an instance's tags at a time in this process, and a
    // write that lands only on the record as read, so two nodes at once do not write over
    // each other either (the one that finds the record changed reads it again).
    return this.inTurn(`tags:${id}`, async () => {
      for (let attempt = 0; attempt < TAG_WRITE_ATTEMPTS; attempt++) {
        if (await this.applyTags(projectId, id, action, tags)) return;
      }
      throw Errors.instanceBusy('DCS.4026', 'having its tags changed through other nodes without pause');
    });
  }

  /** ShowTags: the instance's tags, as BatchCreateOrDeleteTags left them. */
  async tags(projectId: string, id: string): Promise<{ key: string; value: string }[]> {
    return tagsOf(await this.get(projectId, id));
  }

  /** ListTagsOfTenant: every tag key of the project's instances with its values, both sorted. */
  async tagsOfProject(projectId: string): Promise<{ key: string; values: string[] }[]> {
    const values = new Map<string, Set<string>>();
    for (const i of await this.list(projectId)) {
      for (const t of tagsOf(i)) values.set(t.key, (values.get(t.key) ?? new Set()).add(t.value));
    }
    return [...values.keys()].sort().map((key) => ({ key, values: [...values.get(key)!].sort() }));
  }

  /** One attempt of changeTags: false when the record changed between the read and the write. */
  private async applyTags(projectId: string, id: string, action: 'create' | 'delete', tags: { key: string; value?: string }[]): Promise<boolean> {
    const i = await this.get(projectId, id);
    let next = tagsOf(i);
    if (action === 'create') {
      for (const t of tags) next = [...next.filter((x) => x.key !== t.key), { key: t.key, value: t.value ?? '' }];
      if (next.length > MAX_TAGS) throw Errors.badParam('tags', `an instance has at most ${MAX_TAGS} tags (it would have ${next.length}).`);
    } else {
      next = next.filter((x) => !tags.some((t) => t.key === x.key && (t.value === undefined || t.value === x.value)));
    }
    return this.store.updateInstanceIf(i.id, { extraKeys: { tags: next } }, { extraKeyIs: { key: 'tags', value: i.extra.tags } });
  }

  /** Name, description, maintenance window, security group: no task, the record changes at once. */
  async modify(instance: InstanceRecord, b: InstanceRecordChange): Promise<void> {
    const patch: InstancePatch = {};
    if (b.name !== undefined) patch.name = b.name;
    const echoed = Object.entries(b).filter(([k, v]) => k !== 'name' && v !== undefined);
    if (echoed.length) patch.extraKeys = Object.fromEntries(echoed);
    if (Object.keys(patch).length) await this.store.updateInstance(instance.id, patch);
  }
}

/** A managed instance whose supervising node is down: nobody can run its tasks until it is back. */
function orphaned(i: InstanceRecord, alive: (node: string) => boolean): boolean {
  return i.managed && i.ownerNode !== null && !alive(i.ownerNode);
}
