/**
 * POST /v2/{project_id}/instances/{id}/swap: master/standby switchover (masterStandbySwapJob).
 * Writes pause until the standby has caught up, both stop, the standby restarts as master on
 * the instance's port and the old master follows it.
 */
import { DcsError } from '../errors.js';
import { StepFailure } from '../engine/operation.js';
import { infoSection, ping, withRedis } from '../redis/commands.js';
import type { InstanceRecord, NodeRecord } from '../instances/records.js';
import { masterOf } from '../instances/runtime.js';
import { JOB_ACCEPTED, type Endpoint, type EndpointCall, type InstanceOperation, type OperationModule } from './operation.js';
import { linkUp, until } from './replication.js';

interface SwapState {
  /** The replica that becomes master. */
  standby: string;
  /**
   * The lease owner (one per service process) that stopped both nodes in sync. A restart of the
   * service starts them again, the master takes writes, and the standby may not have them: a
   * later process must bring them in sync again before it stops them.
   */
  stoppedBy?: string;
  /** Set once the new roles and ports are recorded: from then on the record is the truth. */
  swapped?: boolean;
}

type SwapContext = Parameters<InstanceOperation<SwapState>['steps'][number]['run']>[0];

/** The standby in the record, or DCS.4086 when it is gone or no longer a replica. */
function standbyOf(x: SwapContext, i: InstanceRecord): NodeRecord {
  const standby = i.nodes.find((n) => n.name === x.state.standby);
  if (!standby || standby.role !== 'replica') throw new StepFailure('DCS.4086', 'The standby node no longer exists.');
  return standby;
}

/** Writes pause on the master until the standby has caught up to the last byte. */
async function catchUp(x: SwapContext, i: InstanceRecord): Promise<void> {
  const master = masterOf(i);
  const standby = standbyOf(x, i);
  await until(() => linkUp(x, i, standby), 20_000, 'The standby is not connected to the master.', x.signal);
  await withRedis(x.nodeTarget(i, master), (r) => r.call('CLIENT', 'PAUSE', '30000', 'WRITE'));
  const offset = async (n: NodeRecord, field: string) => Number((await infoSection(x.nodeTarget(i, n), 'replication'))[field]);
  const target = await offset(master, 'master_repl_offset');
  await until(async () => (await offset(standby, 'slave_repl_offset')) >= target, 20_000, 'The standby did not catch up with the master.', x.signal);
}

/**
 * Both nodes stopped with the standby holding every write the master acknowledged. Run again
 * whenever the nodes may have run since the last time (a resumed task, see stoppedBy): a
 * switchover that stopped them behind would start the standby as master without those writes,
 * and the old master would then copy its data from it.
 */
async function stopInSync(x: SwapContext, i: InstanceRecord): Promise<void> {
  await catchUp(x, i);
  for (const n of i.nodes) await x.processes.stopNode(i, n.name);
  await x.saveState({ stoppedBy: x.fence().owner });
}

/** Whether the roles in the record are already the new ones (the record is written before the state says so). */
const recordedSwapped = (x: SwapContext, i: InstanceRecord) => x.state.swapped === true || i.nodes.some((n) => n.name === x.state.standby && n.role === 'master');

export const masterStandbySwap: InstanceOperation<SwapState> = {
  name: 'masterStandbySwapJob',
  busy: { code: 'DCS.4026', what: 'switching over master and standby' },
  steps: [
    {
      name: 'Check the standby is in sync',
      run: async (x) => {
        const i = await x.instance();
        if (recordedSwapped(x, i)) return;
        await catchUp(x, i);
      },
    },
    {
      name: 'Stop the master and the standby',
      run: async (x) => {
        const i = await x.instance();
        if (recordedSwapped(x, i)) return;
        await stopInSync(x, i);
      },
    },
    {
      name: 'Start the standby as master on the instance address',
      run: async (x) => {
        let i = await x.instance();
        if (!recordedSwapped(x, i)) {
          // Stopped in sync by this process (the step before), or else started again by a
          // restart of the service since: in sync first.
          if (x.state.stoppedBy !== x.fence().owner) await stopInSync(x, i);
          const master = masterOf(i);
          const standby = standbyOf(x, i);
          const nodes = i.nodes.map((n): NodeRecord => {
            if (n.name === standby.name) return { ...n, port: master.port, role: 'master' };
            if (n.name === master.name) return { ...n, port: standby.port, role: 'replica' };
            return n;
          });
          i = await x.save(i, { nodes });
          await x.saveState({ swapped: true });
        }
        for (const n of i.nodes) await x.processes.stopNode(i, n.name);
        await x.processes.startNodes(i);
      },
    },
    {
      name: 'Wait for the old master to follow',
      timeoutMs: 60_000,
      run: async (x) => {
        const i = await x.instance();
        for (const n of i.nodes.filter((y) => y.role === 'replica')) {
          await until(() => linkUp(x, i, n), 50_000, `Node ${n.name} did not reach master_link_status:up.`, x.signal);
        }
      },
    },
  ],
  onSuccess: async (x) => void (await x.save(await x.instance(), { status: 'RUNNING' })),
  onFailure: async (x) => {
    const i = await x.instance().catch(() => null);
    if (!i) return;
    // Whatever happened, bring every node up as the record says.
    for (const n of i.nodes) if (!(await ping(x.nodeTarget(i, n)))) await x.processes.startNode(i, n).catch(() => {});
    const roles = i.nodes.map((n) => `${n.name} ${n.role} on port ${n.port}`).join(', ');
    return `Nodes: ${roles}. ${await x.settle(i)}`;
  },
};

/** Starts the switchover; the synchronous route refuses an instance without a standby with DCS.4086, async-swap with DCS.4026. */
async function startSwap({ params, operable, start }: EndpointCall<never>, noStandbyCode: string) {
  const instance = await operable(params.instance_id);
  const standby = instance.nodes.find((n) => n.role === 'replica');
  if (!instance.managed || !standby) throw new DcsError(noStandbyCode, 'The instance has no standby node.');
  const master = masterOf(instance);
  // Where each node is once the switchover is done (automation.md §2): the new master serves the
  // instance's address (the old master's port), the old master follows it from the standby's port.
  return start(masterStandbySwap, instance, {
    params: {}, state: { standby: standby.name },
    details: { node_name: standby.name, source_ip: `${instance.host}:${standby.port}`, target_ip: `${instance.host}:${master.port}` },
  });
}

const changeMasterStandby: Endpoint = {
  method: 'POST',
  url: '/instances/:instance_id/swap',
  operationId: 'ChangeMasterStandby',
  summary: 'Master/standby switchover (task masterStandbySwapJob)',
  tags: ['operations'],
  reply: { status: 200, schema: JOB_ACCEPTED },
  handle: async (call) => ({ job_id: (await startSwap(call, 'DCS.4086')).id }),
};

/** PUT …/async-swap (automation.md §2): no body; the provider polls the job. */
const changeMasterStandbyAsync: Endpoint = {
  method: 'PUT',
  url: '/instances/:instance_id/async-swap',
  operationId: 'ChangeMasterStandbyAsync',
  summary: 'Master/standby switchover, asynchronous (task masterStandbySwapJob, answered with its job id)',
  tags: ['operations'],
  reply: { status: 200, schema: JOB_ACCEPTED },
  handle: async (call) => ({ job_id: (await startSwap(call, 'DCS.4026')).id }),
};

export default { operations: [masterStandbySwap], endpoints: [changeMasterStandby, changeMasterStandbyAsync] } satisfies OperationModule;
