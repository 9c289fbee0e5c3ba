/**
 * Operations that change an instance's shape: resize (EXTEND), adding and removing replicas,
 * master/standby switchover and a port change. The instance record is the truth about nodes,
 * roles and ports: each step first records what it is about to make true, then makes it true,
 * so a service restarted mid-task brings the processes up as the record says and the resumed
 * step finds its work done or redoes it.
 */
import { StepFailure, type Operation, type StepContext } from '../engine/operation.js';
import { configSet, infoSection, ping, withRedis } from '../redis/commands.js';
import { findFreePort } from '../redis/ports.js';
import type { InstanceRecord, NodeRecord } from './records.js';
import { currentInstance, instanceState, until, type OpDeps } from './op-context.js';
import { masterOf } from './runtime.js';
import { TASK_NAMES } from './operations.js';

const GB = 1024 * 1024 * 1024;

export function topologyOperations(d: OpDeps): Operation[] {
  const instance = (ctx: StepContext) => currentInstance(d, ctx);
  const failed = async (t: { instanceId: string }) => {
    const i = await d.store.getInstanceById(t.instanceId);
    return i ? instanceState(d, i) : undefined;
  };
  const linkUp = async (i: InstanceRecord, n: NodeRecord) =>
    (await infoSection(d.runtime.nodeTarget(i, n), 'replication')).master_link_status === 'up';
  const save = async (i: InstanceRecord, patch: Partial<InstanceRecord>) => {
    await d.store.updateInstance(i.id, patch);
    const now = { ...i, ...patch };
    d.runtime.refreshSpecs(now);
    return now;
  };

  /** maxmemory on every node; run again when recording, as a restart in between loses it. */
  const applyCapacity = async (ctx: StepContext) => {
    const i = await instance(ctx);
    const bytes = Math.round(Number(ctx.task.state.newCapacity) * GB);
    const targets = d.runtime.allTargets(i);
    const used = Number((await infoSection(targets[0], 'memory')).used_memory ?? 0);
    if (used > bytes) {
      throw new StepFailure('DCS.4113', `The instance uses ${used} bytes, more than the new capacity of ${bytes} bytes; maxmemory was not changed.`);
    }
    for (const t of targets) await configSet(t, 'maxmemory', String(bytes));
    return i;
  };

  const extend: Operation = {
    name: TASK_NAMES.extend,
    steps: [
      { name: 'Set maxmemory on every node', run: async (ctx) => void (await applyCapacity(ctx)) },
      {
        name: 'Record the new capacity',
        run: async (ctx) => {
          await save(await applyCapacity(ctx), { capacityGb: Number(ctx.task.state.newCapacity) });
        },
      },
    ],
    onFailure: failed,
  };

  const addReplica: Operation = {
    name: TASK_NAMES.addReplica,
    steps: [
      {
        name: 'Start the replica',
        run: async (ctx) => {
          let i = await instance(ctx);
          const wanted = Number(ctx.task.state.count ?? 1);
          let added = (ctx.task.state.added ?? []) as string[];
          // Names and ports are chosen once and recorded, so a resumed run starts the same nodes.
          while (added.length < wanted) {
            const taken = new Set(i.nodes.map((n) => n.name));
            let k = 1;
            while (taken.has(`node-${k}`)) k++;
            const node: NodeRecord = { name: `node-${k}`, port: await findFreePort(), role: 'replica' };
            i = await save(i, { nodes: [...i.nodes, node] });
            added = [...added, node.name];
            await ctx.saveState({ added });
          }
          for (const name of added) {
            const n = i.nodes.find((x) => x.name === name);
            if (n && !(await ping(d.runtime.nodeTarget(i, n)))) await d.runtime.startNode(i, n);
          }
        },
      },
      {
        name: 'Wait for the replica to synchronise',
        timeoutMs: 60_000,
        run: async (ctx) => {
          const i = await instance(ctx);
          for (const name of (ctx.task.state.added ?? []) as string[]) {
            const n = i.nodes.find((x) => x.name === name)!;
            await until(() => linkUp(i, n), 50_000, `Replica ${name} did not reach master_link_status:up.`, ctx.signal);
          }
        },
      },
    ],
    onFailure: async (t) => {
      const i = await d.store.getInstanceById(t.instanceId);
      if (!i) return;
      const added = new Set((t.state.added ?? []) as string[]);
      for (const name of added) await d.runtime.stopNode(i, name, true).catch(() => {});
      const left = await save(i, { nodes: i.nodes.filter((n) => !added.has(n.name)) });
      return `The new replicas were removed; the instance has ${left.nodes.length - 1} replica(s). ${await instanceState(d, left)}`;
    },
  };

  const delReplica: Operation = {
    name: TASK_NAMES.delReplica,
    steps: [
      {
        name: 'Stop the replica',
        run: async (ctx) => {
          const i = await instance(ctx);
          for (const name of ctx.task.state.remove as string[]) await d.runtime.stopNode(i, name, true);
        },
      },
      {
        name: 'Record the new topology',
        run: async (ctx) => {
          const i = await instance(ctx);
          const remove = new Set(ctx.task.state.remove as string[]);
          await save(i, { nodes: i.nodes.filter((n) => !remove.has(n.name)) });
        },
      },
    ],
    onFailure: failed,
  };

  const swap: Operation = {
    name: TASK_NAMES.swap,
    steps: [
      {
        name: 'Check the standby is in sync',
        run: async (ctx) => {
          const i = await instance(ctx);
          if (ctx.task.state.swapped) return;
          const master = masterOf(i);
          const standby = i.nodes.find((n) => n.name === ctx.task.state.standby);
          if (!standby || standby.role !== 'replica') throw new StepFailure('DCS.4086', 'The standby node no longer exists.');
          await until(() => linkUp(i, standby), 20_000, 'The standby is not connected to the master.', ctx.signal);
          // Writes pause on the master so the standby can catch up to the last byte.
          await withRedis(d.runtime.nodeTarget(i, master), (r) => r.call('CLIENT', 'PAUSE', '30000', 'WRITE'));
          const masterOffset = async () => Number((await infoSection(d.runtime.nodeTarget(i, master), 'replication')).master_repl_offset);
          const target = await masterOffset();
          await until(async () => Number((await infoSection(d.runtime.nodeTarget(i, standby), 'replication')).slave_repl_offset) >= target,
            20_000, 'The standby did not catch up with the master.', ctx.signal);
        },
      },
      {
        name: 'Stop the master and the standby',
        run: async (ctx) => {
          const i = await instance(ctx);
          if (ctx.task.state.swapped) return;
          for (const n of i.nodes) await d.runtime.stopNode(i, n.name);
        },
      },
      {
        name: 'Start the standby as master on the instance address',
        run: async (ctx) => {
          let i = await instance(ctx);
          if (!ctx.task.state.swapped) {
            const master = masterOf(i);
            const standby = i.nodes.find((n) => n.name === ctx.task.state.standby)!;
            const nodes = i.nodes.map((n): NodeRecord => {
              if (n.name === standby.name) return { ...n, port: master.port, role: 'master' };
              if (n.name === master.name) return { ...n, port: standby.port, role: 'replica' };
              return n;
            });
            for (const n of i.nodes) await d.runtime.stopNode(i, n.name);
            i = await save(i, { nodes });
            await ctx.saveState({ swapped: true });
          }
          for (const n of i.nodes) await d.runtime.stopNode(i, n.name);
          await d.runtime.startNodes(i);
        },
      },
      {
        name: 'Wait for the old master to follow',
        timeoutMs: 60_000,
        run: async (ctx) => {
          const i = await instance(ctx);
          for (const n of i.nodes.filter((x) => x.role === 'replica')) {
            await until(() => linkUp(i, n), 50_000, `Node ${n.name} did not reach master_link_status:up.`, ctx.signal);
          }
        },
      },
    ],
    onSuccess: async (t) => d.store.updateInstance(t.instanceId, { status: 'RUNNING' }),
    onFailure: async (t) => {
      const i = await d.store.getInstanceById(t.instanceId);
      if (!i) return;
      // Whatever happened, bring every node up as the record says.
      for (const n of i.nodes) if (!(await ping(d.runtime.nodeTarget(i, n)))) await d.runtime.startNode(i, n).catch(() => {});
      const roles = i.nodes.map((n) => `${n.name} ${n.role} on port ${n.port}`).join(', ');
      return `Nodes: ${roles}. ${await instanceState(d, i)}`;
    },
  };

  const updatePort: Operation = {
    name: TASK_NAMES.port,
    steps: [
      {
        name: 'Move the master to the new port',
        run: async (ctx) => {
          let i = await instance(ctx);
          const newPort = Number(ctx.task.state.newPort);
          const master = masterOf(i);
          if (master.port !== newPort) {
            await d.runtime.stopNode(i, master.name);
            i = await save(i, { port: newPort, nodes: i.nodes.map((n) => (n.name === master.name ? { ...n, port: newPort } : n)) });
          }
          if (!(await ping(d.runtime.targetOf(i)))) await d.runtime.startNode(i, masterOf(i));
        },
      },
      {
        name: 'Point the replicas at the new port',
        run: async (ctx) => {
          const i = await instance(ctx);
          for (const n of i.nodes.filter((x) => x.role === 'replica')) {
            await withRedis(d.runtime.nodeTarget(i, n), (r) => r.call('REPLICAOF', i.host, String(i.port)));
          }
        },
      },
      {
        name: 'Check the new port answers',
        run: async (ctx) => {
          const i = await instance(ctx);
          if (!(await ping(d.runtime.targetOf(i)))) throw new StepFailure('DCS.5000', `Redis does not answer on port ${i.port}.`);
        },
      },
    ],
    onFailure: failed,
  };

  return [extend, addReplica, delReplica, swap, updatePort];
}
