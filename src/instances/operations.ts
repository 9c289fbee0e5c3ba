/**
 * The basic DCS operations as step lists for the engine: restart, flush, password and
 * configuration changes. Each step is idempotent or checks what already happened, so a task
 * resumed after a crash is safe to re-run from its interrupted step.
 */
import { StepFailure, type Operation, type StepContext } from '../engine/operation.js';
import { configSet, dbSize, flushAll, ping, setPassword } from '../redis/commands.js';
import { acceptedPassword, currentInstance, instanceState, type OpDeps } from './op-context.js';

export const TASK_NAMES = {
  restart: 'restartInstance',
  softRestart: 'softRestartInstance',
  flush: 'flushInstance',
  password: 'modify',
  configs: 'modifyConfigs',
  extend: 'EXTEND',
  addReplica: 'AddReplica',
  delReplica: 'DelReplica',
  swap: 'masterStandbySwapJob',
  port: 'UpdatePort',
} as const;

export function basicOperations(d: OpDeps): Operation[] {
  const instance = (ctx: StepContext) => currentInstance(d, ctx);
  const failed = async (t: Parameters<NonNullable<Operation['onFailure']>>[0]) => {
    const i = await d.store.getInstanceById(t.instanceId);
    return i ? instanceState(d, i) : undefined;
  };

  const restart = (name: string): Operation => ({
    name,
    steps: [
      {
        name: 'Stop and start the Redis processes',
        run: async (ctx) => {
          const i = await instance(ctx);
          await d.store.updateInstance(i.id, { status: 'RESTARTING' });
          await d.runtime.restart(i);
        },
      },
      {
        name: 'Check that Redis answers',
        run: async (ctx) => {
          if (!(await ping(d.runtime.targetOf(await instance(ctx))))) throw new StepFailure('DCS.5000', 'Redis does not answer after the restart.');
        },
      },
    ],
    onSuccess: async (t) => d.store.updateInstance(t.instanceId, { status: 'RUNNING' }),
    onFailure: failed,
  });

  const flush: Operation = {
    name: TASK_NAMES.flush,
    steps: [
      { name: 'Flush all databases', run: async (ctx) => flushAll(d.runtime.targetOf(await instance(ctx))) },
      {
        name: 'Verify the data is gone',
        run: async (ctx) => {
          const n = await dbSize(d.runtime.targetOf(await instance(ctx)));
          if (n !== 0) throw new StepFailure('DCS.5000', `${n} keys were written after the flush; they were kept.`);
        },
      },
    ],
    onFailure: failed,
  };

  /**
   * Makes the pending password the one in force on every node. Idempotent: on each node the
   * password in force is either the old or the new one. Run again by the recording step,
   * because a Redis restarted in between (service crash) starts with the recorded password.
   */
  const applyPendingPassword = async (ctx: StepContext) => {
    const i = await instance(ctx);
    const next = i.pendingPassword;
    if (next === null) return false;
    const targets = d.runtime.allTargets(i);
    for (const [k, t] of targets.entries()) {
      const current = await acceptedPassword(t, [i.password, next]);
      if (current === undefined) throw new StepFailure('DCS.5000', 'Redis refuses both the old and the new password.');
      if (i.managed && i.nodes[k].role === 'replica') await configSet({ ...t, password: current }, 'masterauth', next ?? '');
      if (current !== next) await setPassword({ ...t, password: current }, next);
    }
    return true;
  };

  const password: Operation = {
    name: TASK_NAMES.password,
    steps: [
      {
        name: 'Set the new password in Redis',
        run: async (ctx) => {
          const i = await instance(ctx);
          if (i.pendingPassword === null && i.password !== null) {
            // Recorded by an earlier run already; nothing pending means nothing to apply.
            return;
          }
          if (!(await applyPendingPassword(ctx))) throw new StepFailure('DCS.5000', 'The new password was lost before it was applied.');
        },
      },
      {
        name: 'Record the new password',
        run: async (ctx) => {
          if (!(await applyPendingPassword(ctx))) return; // recorded by an earlier run
          const i = await instance(ctx);
          const changed = { ...i, password: i.pendingPassword, pendingPassword: null };
          await d.store.updateInstance(i.id, { password: changed.password, pendingPassword: null });
          d.runtime.refreshSpecs(changed);
        },
      },
    ],
    onFailure: async (t) => {
      const i = await d.store.getInstanceById(t.instanceId);
      if (!i || i.pendingPassword === null) return;
      const current = await acceptedPassword(d.runtime.targetOf(i), [i.password, i.pendingPassword]).catch(() => undefined);
      if (current === i.pendingPassword) {
        await d.store.updateInstance(i.id, { password: current, pendingPassword: null });
        d.runtime.refreshSpecs({ ...i, password: current });
        return 'The new password is in force.';
      }
      await d.store.updateInstance(i.id, { pendingPassword: null });
      return 'The old password is still in force.';
    },
  };

  /** CONFIG SET on every node; run again when recording, as a restart in between loses it. */
  const applyConfigs = async (ctx: StepContext) => {
    const i = await instance(ctx);
    const changes = (ctx.task.state.changes ?? {}) as Record<string, string>;
    const targets = d.runtime.allTargets(i);
    for (const t of targets) for (const [name, value] of Object.entries(changes)) await configSet(t, name, value);
    return { i, changes };
  };

  const configs: Operation = {
    name: TASK_NAMES.configs,
    steps: [
      { name: 'Apply the configuration', run: async (ctx) => void (await applyConfigs(ctx)) },
      {
        name: 'Record the configuration',
        run: async (ctx) => {
          const { i, changes } = await applyConfigs(ctx);
          const stored = (i.extra.configs ?? {}) as Record<string, string>;
          await d.store.updateInstance(i.id, { extra: { ...i.extra, configs: { ...stored, ...changes } } });
        },
      },
    ],
    onFailure: failed,
  };

  return [restart(TASK_NAMES.restart), restart(TASK_NAMES.softRestart), flush, password, configs];
}
