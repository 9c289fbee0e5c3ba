/**
 * The shape of a DCS operation: everything about one kind of background task in one place — its
 * task name, the busy code others see while it runs, its steps over a typed state, its failure
 * handling, and the request (endpoint) that starts it. Modules in this folder define operations;
 * registry.ts lists them; the engine, TaskService, the HTTP routes and OpenAPI read the registry.
 */
import { LeaseLost, StepFailure, type HookContext, type Operation, type StepContext } from '../engine/operation.js';
import { ping, totalKeys, type RedisTarget } from '../redis/commands.js';
import { freePortBesides } from '../redis/ports.js';
import type { InstancePatch, InstanceRecord, NodeRecord } from '../instances/records.js';
import type { InstanceRuntime } from '../instances/runtime.js';
import type { InstanceRecordChange } from '../instances/service.js';
import type { RecordStore, Store, TaskFence } from '../store/types.js';
import type { TaskRecord } from '../tasks/records.js';
import type { Actor } from '../tasks/service.js';
import type { BackupPolicies } from '../records/backup-policy.js';

/** The DCS state code and wording others get while this operation runs on the instance. */
export interface Busy {
  code: string;
  /** Completes "The instance is …", e.g. "restarting". */
  what: string;
}

/** What a request turns into: the task's user-visible parameters and its starting state. */
export interface TaskPlan<S> {
  /** Shown as the task's `params` (JSON): never a secret. */
  params: Record<string, unknown>;
  state: S;
  details?: Record<string, unknown>;
  /** Written in the same transaction as the task (e.g. a pending password). */
  instancePatch?: InstancePatch;
  /** A port the instance moves to, held for it from the task's creation (see CreateTaskOptions.claimPort). */
  claimPort?: number;
}

export interface InstanceOperation<S> {
  /** The DCS task name. */
  name: string;
  busy: Busy;
  steps: { name: string; timeoutMs?: number; run(x: OpRun<S>): Promise<void> }[];
  onSuccess?(x: OpRun<S>): Promise<void>;
  onFailure?(x: OpRun<S>, error: StepFailure): Promise<string | void>;
}

/** The services a step reaches; nothing else. */
export interface OpDeps {
  store: Store;
  runtime: InstanceRuntime;
}

/**
 * What a step of an instance operation works with. Every effect goes through it and is fenced:
 * Redis commands check the lease right before they are sent, instance writes carry the lease in
 * the same statement, and process starts and stops check it first.
 */
export class OpRun<S> {
  private current: S;

  constructor(private readonly ctx: StepContext<S> | HookContext<S>, private readonly d: OpDeps) {
    this.current = ctx.task.state;
  }

  get state(): S {
    return this.current;
  }

  get signal(): AbortSignal {
    return this.ctx.signal;
  }

  get taskId(): string {
    return this.ctx.task.id;
  }

  async saveState(patch: Partial<S>): Promise<void> {
    if (!('saveState' in this.ctx)) throw new Error('state cannot change in a hook');
    await this.ctx.saveState(patch);
    this.current = { ...this.current, ...patch };
  }

  /** The instance as stored now: an earlier step (or an earlier run of this task) may have changed it. */
  async instance(): Promise<InstanceRecord> {
    const i = await this.d.store.getInstanceById(this.ctx.task.instanceId);
    if (!i) throw new StepFailure('DCS.3022', 'The instance was deleted while the task ran.');
    return i;
  }

  /** Records a change of the instance while this task is still ours, and makes later starts use it. */
  async save(i: InstanceRecord, patch: InstancePatch): Promise<InstanceRecord> {
    if (!(await this.d.store.updateInstanceAsTask({ ...this.ctx.fence, now: Date.now() }, i.id, patch))) throw new LeaseLost();
    const { extraKeys, ...columns } = patch;
    const next = { ...i, ...columns, extra: { ...i.extra, ...extraKeys } };
    this.d.runtime.refreshSpecs(next);
    return next;
  }

  private fenced(t: RedisTarget): RedisTarget {
    return { ...t, beforeEffect: () => this.ctx.assertOwned() };
  }

  target(i: InstanceRecord, password = i.password): RedisTarget {
    return this.fenced(this.d.runtime.targetOf(i, password));
  }

  nodeTarget(i: InstanceRecord, n: NodeRecord, password = i.password): RedisTarget {
    return this.fenced(this.d.runtime.nodeTarget(i, n, password));
  }

  allTargets(i: InstanceRecord): RedisTarget[] {
    return this.d.runtime.allTargets(i).map((t) => this.fenced(t));
  }

  /** Process control of a managed instance, each checked against the lease first. */
  readonly processes = {
    restart: (i: InstanceRecord) => this.guarded(() => this.d.runtime.restart(i)),
    startNode: (i: InstanceRecord, n: NodeRecord) => this.guarded(() => this.d.runtime.startNode(i, n)),
    startNodes: (i: InstanceRecord) => this.guarded(() => this.d.runtime.startNodes(i)),
    stopNode: (i: InstanceRecord, name: string, removeFiles = false) => this.guarded(() => this.d.runtime.stopNode(i, name, removeFiles)),
    /** Whether the master's own redis-server (this node supervises it) is up: not merely something answering on its port. */
    isUp: (i: InstanceRecord) => this.d.runtime.isUp(i),
  };

  private async guarded<T>(fn: () => Promise<T>): Promise<T> {
    this.ctx.assertOwned();
    return fn();
  }

  /** The task's own record (a backup or restore), written only while this task holds its lease. */
  get records(): RecordStore {
    return this.d.store.records;
  }

  /** The lease as of now, for a fenced record write. */
  fence(): TaskFence {
    return { ...this.ctx.fence, now: Date.now() };
  }

  /** A free port for a new node: none another instance records or has claimed. */
  async freeNodePort(): Promise<number> {
    return freePortBesides(await this.d.store.heldPorts());
  }

  /** A managed node's directory (its redis.conf, AOF and RDB files). */
  nodeDir(i: InstanceRecord, n: NodeRecord): string {
    return this.d.runtime.dirOf(i.id, n.name);
  }

  /** Where the service keeps its files (backups live below it). */
  get dataDir(): string {
    return this.d.runtime.dataDir;
  }

  /** Where the instance was left, for fail_reason; records RUNNING or ERROR. */
  async settle(i: InstanceRecord): Promise<string> {
    const up = this.d.runtime.isUp(i) && (await ping(this.target(i)));
    await this.save(i, { status: up ? 'RUNNING' : 'ERROR' });
    // Where and with how much data: what a failed task left is then plain, also when its last
    // step had taken effect (a port change that moved it, a flush that emptied it).
    if (up) return `The instance is running at ${i.host}:${i.port}${await this.keysHeld(i)}.`;
    // An attached Redis is its owner's to start: nothing here retries it.
    return i.managed ? 'The instance is not answering; the supervisor keeps trying to start it.' : 'The attached Redis is not answering at its address.';
  }

  /** " and holds N keys" (every database), or nothing when Redis does not say. */
  private async keysHeld(i: InstanceRecord): Promise<string> {
    const n = await totalKeys(this.target(i));
    return n === null ? '' : ` and holds ${n} key${n === 1 ? '' : 's'}`;
  }

  /** The instance if it still exists, settled; for failure hooks. */
  async settleIfPresent(): Promise<string | undefined> {
    const i = await this.d.store.getInstanceById(this.ctx.task.instanceId);
    return i ? this.settle(i) : undefined;
  }
}

/** The engine's view of an instance operation: each step gets an OpRun over its context. */
export function toEngineOperation<S>(op: InstanceOperation<S>, d: OpDeps): Operation<S> {
  return {
    name: op.name,
    steps: op.steps.map((s) => ({ name: s.name, timeoutMs: s.timeoutMs, run: (ctx) => s.run(new OpRun(ctx, d)) })),
    onSuccess: op.onSuccess && ((ctx) => op.onSuccess!(new OpRun(ctx, d))),
    onFailure: op.onFailure && ((ctx, e) => op.onFailure!(new OpRun(ctx, d), e)),
  };
}

// ---- requests that start operations -------------------------------------------------------

/** What an endpoint's handler may do: domain services, never HTTP. */
export interface EndpointCall<B> {
  projectId: string;
  /** Path parameters below /v2/{project_id}, e.g. instance_id. */
  params: Record<string, string>;
  body: B;
  actor: Actor;
  /** The instance an operation may change (404 DCS.3022 when unknown, DCS.4026 when its node is down). */
  operable(instanceId: string): Promise<InstanceRecord>;
  /** Records the task for the operation (refused with the running task's busy code) and starts it. */
  start<S>(op: InstanceOperation<S>, instance: InstanceRecord, plan: TaskPlan<S>): Promise<TaskRecord>;
  /** Changes to the instance record that need no task (name, description, maintenance window, security group). */
  modify(instance: InstanceRecord, change: InstanceRecordChange): Promise<void>;
  /** 400 DCS.4800 unless `port` is held by no instance and free on this host. */
  checkPort(port: number): Promise<void>;
  /** The automatic backup policy (instance_backup_policy): checked first, saved with the other changes. */
  backupPolicies: BackupPolicies;
}

/** One HTTP request of the DCS API that starts operations. */
export interface Endpoint<B = never> {
  method: 'PUT' | 'POST' | 'DELETE';
  /** Below /v2/{project_id}, Fastify syntax: '/instances/:instance_id/password'. */
  url: string;
  /** The official SDK's name for the call (OpenAPI operationId). */
  operationId: string;
  summary: string;
  tags: string[];
  /** JSON schema of the body; requests are validated against it before `handle`. */
  body?: Record<string, unknown>;
  /** 200 with the `schema`-shaped answer `handle` returns, or 204 without a body. */
  reply: { status: 200; schema: Record<string, unknown> } | { status: 204 };
  handle(call: EndpointCall<B>): Promise<unknown>;
}

/** One module of this folder: an operation (or a small family) and the requests that start it. */
export interface OperationModule {
  // `any`: each operation has its own state type
  operations: InstanceOperation<any>[];
  // `any`: each endpoint has its own body type
  endpoints: Endpoint<any>[];
}

/** The answer of every endpoint that starts one task: its id, which is also the job id. */
export const JOB_ACCEPTED = {
  type: 'object',
  required: ['job_id'],
  properties: { job_id: { type: 'string', description: 'The task id (also its job id)' } },
} as const;
