/**
 * POST /v2/{project_id}/instances/{id}/resize: a new capacity (task EXTEND) or replicas added or
 * removed (AddReplica / DelReplica). The instance record is the truth about nodes and ports: a
 * step first records what it is about to make true, then makes it true, so a service restarted
 * mid-task brings the processes up as the record says and the resumed step finds its work done.
 */
import { Errors } from '../errors.js';
import { StepFailure } from '../engine/operation.js';
import { configSet, infoSection, ping } from '../redis/commands.js';
import type { InstancePatch, InstanceRecord, NodeRecord } from '../instances/records.js';
import { CAPACITY_GB } from '../instances/schemas.js';
import { checkCapacity } from '../instances/rules.js';
import { cacheModeOf, checkFlavor, flavorInMode, flavorOf } from '../instances/flavors.js';
import { JOB_ACCEPTED, type Endpoint, type InstanceOperation, type OperationModule, type OpRun } from './operation.js';
import { linkUp, until } from './replication.js';

const GB = 1024 * 1024 * 1024;
const MAX_REPLICAS = 5;
const RESIZING = { code: 'DCS.4113', what: 'being resized' };

interface ExtendState {
  newCapacity: number;
  /** The request's spec_code, shown from the end on (automation.md §3.4: create/resize spec_code, echoed). */
  specCode?: string;
}

/** The record's change that shows `specCode` as the instance's flavor from now on; none without one. */
const flavorShown = (specCode: string | undefined): InstancePatch => (specCode !== undefined ? { extraKeys: { spec_code: specCode } } : {});

/** maxmemory on every node; run again when recording, as a restart in between loses it. */
async function applyCapacity(x: OpRun<ExtendState>): Promise<InstanceRecord> {
  const i = await x.instance();
  const bytes = Math.round(x.state.newCapacity * GB);
  const targets = x.allTargets(i);
  const used = Number((await infoSection(targets[0], 'memory')).used_memory ?? 0);
  if (used > bytes) {
    throw new StepFailure('DCS.4113', `The instance uses ${used} bytes, more than the new capacity of ${bytes} bytes; maxmemory was not changed.`);
  }
  for (const t of targets) await configSet(t, 'maxmemory', String(bytes));
  return i;
}

export const extend: InstanceOperation<ExtendState> = {
  name: 'EXTEND',
  busy: RESIZING,
  steps: [
    { name: 'Set maxmemory on every node', run: async (x) => void (await applyCapacity(x)) },
    {
      name: 'Record the new capacity',
      run: async (x) => {
        const i = await applyCapacity(x);
        const { newCapacity, specCode } = x.state;
        await x.save(i, { capacityGb: newCapacity, ...flavorShown(specCode) });
      },
    },
  ],
  onFailure: (x) => x.settleIfPresent(),
};

/** A change of type (change_type instanceType) is a replica change that also shows the new flavor. */
interface TypeChange {
  /** The flavor of the new type, recorded with the new topology. */
  specCode?: string;
}

interface AddReplicaState extends TypeChange {
  count: number;
  /** Names of the nodes this task added, chosen once so a resumed run starts the same nodes. */
  added?: string[];
}

export const addReplica: InstanceOperation<AddReplicaState> = {
  name: 'AddReplica',
  busy: RESIZING,
  steps: [
    {
      name: 'Start the replica',
      run: async (x) => {
        let i = await x.instance();
        let added = x.state.added ?? [];
        while (added.length < x.state.count) {
          const taken = new Set(i.nodes.map((n) => n.name));
          let k = 1;
          while (taken.has(`node-${k}`)) k++;
          const node: NodeRecord = { name: `node-${k}`, port: await x.freeNodePort(), role: 'replica' };
          i = await x.save(i, { nodes: [...i.nodes, node] });
          added = [...added, node.name];
          await x.saveState({ added });
        }
        for (const name of added) {
          const n = i.nodes.find((y) => y.name === name);
          if (n && !(await ping(x.nodeTarget(i, n)))) await x.processes.startNode(i, n);
        }
      },
    },
    {
      name: 'Wait for the replica to synchronise',
      timeoutMs: 60_000,
      run: async (x) => {
        const i = await x.instance();
        for (const name of x.state.added ?? []) {
          const n = i.nodes.find((y) => y.name === name)!;
          await until(() => linkUp(x, i, n), 50_000, `Replica ${name} did not reach master_link_status:up.`, x.signal);
        }
        if (x.state.specCode !== undefined) await x.save(i, flavorShown(x.state.specCode));
      },
    },
  ],
  onFailure: async (x) => {
    const i = await x.instance().catch(() => null);
    if (!i) return;
    const added = new Set(x.state.added ?? []);
    for (const name of added) await x.processes.stopNode(i, name, true).catch(() => {});
    const left = await x.save(i, { nodes: i.nodes.filter((n) => !added.has(n.name)) });
    return `The new replicas were removed; the instance has ${left.nodes.length - 1} replica(s). ${await x.settle(left)}`;
  },
};

interface DelReplicaState extends TypeChange { remove: string[] }

export const delReplica: InstanceOperation<DelReplicaState> = {
  name: 'DelReplica',
  busy: RESIZING,
  steps: [
    {
      name: 'Stop the replica',
      run: async (x) => {
        const i = await x.instance();
        for (const name of x.state.remove) await x.processes.stopNode(i, name, true);
      },
    },
    {
      name: 'Record the new topology',
      run: async (x) => {
        const i = await x.instance();
        // A service restarted since the first step started every recorded node again: the
        // replicas are stopped (again) before the record lets go of them.
        for (const name of x.state.remove) await x.processes.stopNode(i, name, true);
        const remove = new Set(x.state.remove);
        await x.save(i, { nodes: i.nodes.filter((n) => !remove.has(n.name)), ...flavorShown(x.state.specCode) });
      },
    },
  ],
  onFailure: (x) => x.settleIfPresent(),
};

export interface ResizeRequest {
  spec_code?: string;
  new_capacity?: number;
  /** "" (what the provider sends for a capacity-only change) is the same as none. */
  change_type?: '' | 'createReplication' | 'deleteReplication' | 'instanceType';
  node_list?: string[];
  replica_num?: number;
}

/**
 * The replicas a resize adds or removes. instanceType: single → ha adds one, ha → single removes
 * every one, the capacity stays; createReplication adds `replica_num` (1); deleteReplication
 * removes `node_list` (the last replica).
 */
function replicaChange(instance: InstanceRecord, replicas: string[], b: ResizeRequest): { add: number } | { remove: string[] } {
  if (b.change_type === 'instanceType') {
    if (b.spec_code === undefined) throw Errors.badParam('spec_code', 'is required with change_type instanceType: the flavor of the new type.');
    if (b.new_capacity !== undefined && b.new_capacity !== instance.capacityGb) {
      throw Errors.badParam('new_capacity', 'cannot change together with the instance type: change the type, then the capacity.');
    }
    checkFlavor(b.spec_code, instance.capacityGb, 'new_capacity');
    const mode = flavorOf(b.spec_code)?.cache_mode;
    if (mode === cacheModeOf(instance)) throw Errors.badParam('spec_code', `is a ${mode} flavor and the instance is ${mode} already.`);
    return mode === 'ha' ? { add: 1 } : { remove: replicas };
  }
  if (b.change_type === 'createReplication') {
    const count = b.replica_num ?? 1;
    if (replicas.length + count > MAX_REPLICAS) throw Errors.badParam('replica_num', `an instance has at most ${MAX_REPLICAS} replicas.`);
    return { add: count };
  }
  const remove = b.node_list?.length ? b.node_list : replicas.slice(-1);
  if (remove.length === 0) throw Errors.noReplica();
  for (const name of remove) if (!replicas.includes(name)) throw Errors.badParam('node_list', `${name} is not a replica of this instance.`);
  return { remove };
}

const resizeInstance: Endpoint<ResizeRequest> = {
  method: 'POST',
  url: '/instances/:instance_id/resize',
  operationId: 'ResizeInstance',
  summary: 'Resize (task EXTEND), add/remove replicas (AddReplica / DelReplica), or change between single and ha (instanceType)',
  tags: ['operations'],
  body: {
    type: 'object',
    properties: {
      spec_code: { type: 'string', maxLength: 128 },
      new_capacity: { ...CAPACITY_GB, description: 'GB (EXTEND)' },
      change_type: { type: 'string', enum: ['', 'createReplication', 'deleteReplication', 'instanceType'] },
      node_list: { type: 'array', maxItems: 5, uniqueItems: true, items: { type: 'string', pattern: '^node-[0-9]{1,2}$' } },
      replica_num: { type: 'integer', minimum: 1, maximum: 5, description: 'Addition: replicas to add (default 1)' },
    },
  },
  reply: { status: 200, schema: JOB_ACCEPTED },
  handle: async ({ params, body: b, operable, start }) => {
    const instance = await operable(params.instance_id);
    const taskParams = pick(b, ['spec_code', 'new_capacity', 'change_type', 'node_list', 'replica_num']);
    if (b.change_type === 'instanceType' || b.change_type === 'createReplication' || b.change_type === 'deleteReplication') {
      if (!instance.managed) {
        throw Errors.badParam('change_type', b.change_type === 'instanceType' ? 'the type of managed instances only can change.' : 'replicas can be added to managed instances only.');
      }
      const replicas = instance.nodes.filter((n) => n.role === 'replica');
      const change = replicaChange(instance, replicas.map((n) => n.name), b);
      const after = replicas.length + ('add' in change ? change.add : -change.remove.length);
      // The flavor shown follows the type: the one asked for, or the same size in the new mode.
      const mode = after > 0 ? 'ha' : 'single';
      const specCode = mode === cacheModeOf(instance) ? undefined : b.change_type === 'instanceType' ? b.spec_code : flavorInMode((instance.extra.spec_code as string | null) ?? undefined, mode, instance.capacityGb);
      const shown = specCode !== undefined ? { specCode } : {};
      const details = { old_replica_num: replicas.length, new_replica_num: after };
      const t = 'add' in change
        ? await start(addReplica, instance, { params: taskParams, state: { count: change.add, ...shown }, details })
        : await start(delReplica, instance, { params: taskParams, state: { remove: change.remove, ...shown }, details });
      return { job_id: t.id };
    }
    if (b.new_capacity === undefined) throw Errors.badParam('new_capacity', 'is required.');
    checkCapacity('new_capacity', b.new_capacity);
    checkFlavor(b.spec_code, b.new_capacity, 'new_capacity');
    // A new spec_code alone (same capacity) is a change too: the flavor shown is the one asked for.
    const newSpec = b.spec_code !== undefined && b.spec_code !== instance.extra.spec_code;
    const mode = flavorOf(b.spec_code)?.cache_mode;
    if (instance.managed && mode && mode !== cacheModeOf(instance)) {
      throw Errors.badParam('spec_code', `is a ${mode} flavor: the type changes with change_type instanceType, replicas with createReplication / deleteReplication.`);
    }
    if (b.new_capacity === instance.capacityGb && !newSpec) throw Errors.badParam('new_capacity', 'is the current capacity.');
    const t = await start(extend, instance, {
      params: taskParams, state: { newCapacity: b.new_capacity, ...(b.spec_code !== undefined ? { specCode: b.spec_code } : {}) },
      details: { old_capacity: String(instance.capacityGb), new_capacity: String(b.new_capacity) },
    });
    return { job_id: t.id };
  },
};

/** Only the named fields, so nothing a client adds ends up in a task's params. */
function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

export default { operations: [extend, addReplica, delReplica], endpoints: [resizeInstance] } satisfies OperationModule;
