/**
 * InstanceRuntime: the live side of an instance record. A managed instance is one or more
 * redis-server nodes (a master on the instance's port, replicas following it), each supervised
 * under the key `<instance id>:<node name>` with its own directory. The runtime knows how to
 * reach any instance (managed or attached), writes the renamed commands into each node's
 * redis.conf, re-applies the stored configuration after every start, and mirrors process health into the instance's status.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { InstanceRecord, NodeRecord } from './records.js';
import type { Store } from '../store/types.js';
import type { RedisSupervisor, ManagedRedisSpec } from '../redis/supervisor.js';
import { aclSetUser, configSet, parseRedisUrl, ping, type RedisTarget } from '../redis/commands.js';
import { capacityBytes } from './rules.js';
import { aclAccountsOf, aclRules } from './acl.js';
import { commandNamesOf, renamesOf } from './rename-commands.js';
import { instanceBackupsDirOf } from '../records/files.js';
import { leftoverRedis, stopProcess } from '../redis/leftovers.js';

/** The directories of instances (`<data>/instances/<uuid>`) and of their nodes (`node-<k>`). */
const INSTANCE_DIR = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NODE_DIR = /^node-\d+$/;
/** The file in an instance's directory naming its database (see InstanceRuntime's databaseMark). */
const DATABASE_MARK_FILE = 'database';

export const nodeKey = (instanceId: string, node: string) => `${instanceId}:${node}`;
const instanceOfKey = (key: string) => key.split(':')[0];

export function masterOf(i: InstanceRecord): NodeRecord {
  return i.nodes.find((n) => n.role === 'master') ?? { name: 'node-0', port: i.port, role: 'master' };
}

export class InstanceRuntime {
  constructor(
    private readonly store: Store,
    private readonly supervisor: RedisSupervisor,
    readonly dataDir: string,
    private readonly logger: Logger,
    /**
     * Which database the instances under dataDir belong to (a hash of its location), written
     * beside each instance's nodes: removeStrays leaves the directories of another database
     * alone (a data directory reused with another database, or shared by mistake).
     */
    private readonly databaseMark = 'unnamed',
  ) {
    supervisor.on('down', (key: string) => this.track(this.onDown(instanceOfKey(key), key)));
    supervisor.on('up', (key: string) => this.track(this.onUp(instanceOfKey(key), key)));
  }

  /** What the supervisor's events started and has not finished (see idle). */
  private readonly handling = new Set<Promise<void>>();

  private track(p: Promise<void>): void {
    this.handling.add(p);
    void p.finally(() => this.handling.delete(p));
  }

  /** Resolves once every status the supervisor's events asked for is written (or not, as it should). */
  async idle(): Promise<void> {
    while (this.handling.size) await Promise.all(this.handling);
  }

  dirOf(id: string, node?: string): string {
    const base = path.join(this.dataDir, 'instances', id);
    return node ? path.join(base, node) : base;
  }

  specOf(i: InstanceRecord, node: NodeRecord, password = i.password): ManagedRedisSpec {
    const master = masterOf(i);
    return {
      instanceId: nodeKey(i.id, node.name),
      host: i.host,
      port: node.port,
      password,
      maxmemoryBytes: capacityBytes(i.capacityGb),
      dir: this.dirOf(i.id, node.name),
      replicaOf: node.role === 'replica' ? { host: i.host, port: master.port, password } : null,
      renameCommands: renamesOf(i) as Record<string, string>,
    };
  }

  /** How to reach the instance (its master), with the password in force or the given one. */
  targetOf(i: InstanceRecord, password = i.password): RedisTarget {
    if (i.managed) return { host: i.host, port: i.port, password, ...commandNamesOf(i) };
    const t = parseRedisUrl(i.redisUrl!);
    return { ...t, password, username: i.username ?? t.username ?? null };
  }

  nodeTarget(i: InstanceRecord, node: NodeRecord, password = i.password): RedisTarget {
    return { host: i.host, port: node.port, password, ...commandNamesOf(i) };
  }

  /** Every redis-server of the instance, master first (an attached Redis is one target). */
  allTargets(i: InstanceRecord): RedisTarget[] {
    return i.managed ? i.nodes.map((n) => this.nodeTarget(i, n)) : [this.targetOf(i)];
  }

  /** Starts a managed instance's nodes (or checks an attached one) and records RUNNING or ERROR. */
  /** `held`: nodes a running task will start itself (a restore that set their data aside). */
  async bringUp(i: InstanceRecord, held: ReadonlySet<string> = new Set()): Promise<void> {
    // An instance that failed its creation stays failed (DCS's CREATEFAILED): nothing is started
    // for it at a later start of the service; deleting it is what is left to do.
    if (i.status === 'CREATEFAILED') return;
    try {
      if (i.managed) await this.startNodes(i, held);
      else if (!(await ping(this.targetOf(i)))) throw new Error('the attached Redis does not answer');
      await this.markStatus(i.id, 'RUNNING');
    } catch (err) {
      this.logger.error({ err, instance_id: i.id }, 'instance could not be started');
      // Never answered at creation: DCS calls that CREATEFAILED (the provider stops waiting on
      // it), and the supervisor stops trying. Otherwise it keeps trying; its return is RUNNING.
      if (i.status === 'CREATING' && i.managed) await this.stop(i, false).catch(() => {});
      await this.markStatus(i.id, i.status === 'CREATING' ? 'CREATEFAILED' : 'ERROR');
    }
  }

  /** Master first, then replicas; each with the stored configuration applied. */
  async startNodes(i: InstanceRecord, held: ReadonlySet<string> = new Set()): Promise<void> {
    const ordered = [...i.nodes].sort((a, b) => (a.role === b.role ? 0 : a.role === 'master' ? -1 : 1));
    for (const n of ordered) if (!held.has(n.name)) await this.startNode(i, n);
  }

  async startNode(i: InstanceRecord, n: NodeRecord): Promise<void> {
    this.markDatabase(i.id);
    await this.supervisor.start(this.specOf(i, n));
    await this.applyStoredConfigs(i, n);
  }

  async stopNode(i: InstanceRecord, name: string, removeFiles = false): Promise<void> {
    const key = nodeKey(i.id, name);
    if (this.supervisor.spec(key)) await this.supervisor.stop(key, { removeFiles });
  }

  /** Restarts every node (data kept through AOF), master first. */
  async restart(i: InstanceRecord): Promise<void> {
    for (const n of i.nodes) await this.stopNode(i, n.name);
    await this.startNodes(i);
  }

  /** With removeFiles, the whole `<data>/instances/<id>/` goes, nodes that never started included. */
  async stop(i: InstanceRecord, removeFiles: boolean): Promise<void> {
    for (const n of i.nodes) await this.stopNode(i, n.name, removeFiles);
    if (removeFiles) fs.rmSync(this.dirOf(i.id), { recursive: true, force: true });
  }

  /**
   * Stops the redis-servers of instances deleted through another service node, which cannot
   * reach this node's processes, and removes their files and backups: what a delete on this node
   * does at once. Returns their ids.
   */
  async stopDeleted(): Promise<string[]> {
    const supervised = new Set(this.supervisor.list().map(instanceOfKey));
    if (supervised.size === 0) return [];
    const existing = new Set((await this.store.listAllInstances()).map((i) => i.id));
    const gone = [...supervised].filter((id) => !existing.has(id));
    for (const id of gone) {
      for (const key of this.supervisor.list().filter((k) => instanceOfKey(k) === id)) await this.supervisor.stop(key, { removeFiles: true });
      this.removeFilesOf(id);
    }
    return gone;
  }

  /**
   * What a killed service process left of instances or nodes the store no longer records — a
   * delete, or a replica's removal, cut short between the record and the processes: their
   * redis-servers (found by pid file) are stopped and their files, backups included, removed.
   * Run at start, before any node is brought up. Returns the directories removed.
   */
  async removeStrays(recorded: InstanceRecord[]): Promise<string[]> {
    const root = path.join(this.dataDir, 'instances');
    if (!fs.existsSync(root)) return [];
    const nodesOf = new Map(recorded.map((i) => [i.id, new Set(i.nodes.map((n) => n.name))]));
    const removed: string[] = [];
    for (const id of fs.readdirSync(root)) {
      // Only what this database's instances left: never another's, never an unmarked one.
      if (!INSTANCE_DIR.test(id) || this.databaseOf(id) !== this.databaseMark) continue;
      const known = nodesOf.get(id);
      try {
        for (const node of fs.readdirSync(this.dirOf(id))) {
          if (known?.has(node) || !NODE_DIR.test(node)) continue;
          const pid = leftoverRedis(this.dirOf(id, node));
          if (pid !== null) await stopProcess(pid);
          fs.rmSync(this.dirOf(id, node), { recursive: true, force: true });
          removed.push(this.dirOf(id, node));
        }
        if (known) continue;
        this.removeFilesOf(id);
        removed.push(this.dirOf(id));
      } catch (err) {
        // One that cannot be removed (a process gone meanwhile, or not ours to signal) must not
        // keep the service from starting.
        this.logger.warn({ err, dir: this.dirOf(id) }, 'what an earlier process left could not be removed');
      }
    }
    return removed;
  }

  /** A deleted instance's files: its nodes' directories and its backups. */
  private removeFilesOf(id: string): void {
    fs.rmSync(this.dirOf(id), { recursive: true, force: true });
    fs.rmSync(instanceBackupsDirOf(this.dataDir, id), { recursive: true, force: true });
  }

  private markDatabase(id: string): void {
    if (this.databaseOf(id) === this.databaseMark) return;
    fs.mkdirSync(this.dirOf(id), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(this.dirOf(id), DATABASE_MARK_FILE), `${this.databaseMark}\n`, { mode: 0o600 });
  }

  private databaseOf(id: string): string | null {
    try {
      return fs.readFileSync(path.join(this.dirOf(id), DATABASE_MARK_FILE), 'utf8').trim();
    } catch {
      return null;
    }
  }

  /** Later (re)starts must use what the record now says (password, capacity, ports, roles). */
  refreshSpecs(i: InstanceRecord): void {
    for (const n of i.nodes) {
      const key = nodeKey(i.id, n.name);
      const { instanceId: _key, ...spec } = this.specOf(i, n);
      if (this.supervisor.spec(key)) this.supervisor.update(key, spec);
    }
  }

  isUp(i: InstanceRecord): boolean {
    return !i.managed || this.supervisor.isUp(nodeKey(i.id, masterOf(i).name));
  }

  pidOf(i: InstanceRecord, node: string): number | undefined {
    return this.supervisor.pid(nodeKey(i.id, node));
  }

  /** Configuration changed through the API lives in the record, so a restart keeps it. */
  async applyStoredConfigs(i: InstanceRecord, n?: NodeRecord): Promise<void> {
    const configs = (i.extra.configs ?? {}) as Record<string, string>;
    const target = n ? this.nodeTarget(i, n) : this.targetOf(i);
    for (const [name, value] of Object.entries(configs)) await configSet(target, name, value);
    for (const a of aclAccountsOf(i)) await aclSetUser(target, a.name, aclRules(a));
  }

  // The supervisor's events mirror process health into a status nobody else holds: a master
  // that exits takes RUNNING to ERROR, its return takes ERROR back to RUNNING. A status a task
  // set meanwhile (RESTARTING, RESTORING…) is the task's to settle, and is left alone.
  private async onDown(id: string, key: string): Promise<void> {
    const i = await this.store.getInstanceById(id);
    if (i && key === nodeKey(id, masterOf(i).name)) await this.markStatus(id, 'ERROR', ['RUNNING']);
  }

  private async onUp(id: string, key: string): Promise<void> {
    const i = await this.store.getInstanceById(id);
    const node = i?.nodes.find((n) => nodeKey(id, n.name) === key);
    if (!i || !node) return;
    await this.applyStoredConfigs(i, node).catch((err) => this.logger.warn({ err, instance_id: id }, 'stored configuration not re-applied'));
    if (node.role === 'master') await this.markStatus(id, 'RUNNING', ['ERROR']);
  }

  private async markStatus(id: string, status: InstanceRecord['status'], from?: InstanceRecord['status'][]): Promise<void> {
    const write = from ? this.store.updateInstanceIf(id, { status }, { statusIn: from }) : this.store.updateInstance(id, { status });
    await write.catch((err) => this.logger.error({ err, instance_id: id }, 'status not recorded'));
  }
}
