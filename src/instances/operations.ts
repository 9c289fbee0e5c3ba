/**
 * The DCS operations that run as background tasks, as step lists for the engine. Each step is
 * idempotent or checks what already happened, so a task resumed after a crash is safe to
 * re-run from its interrupted step.
 */
import { StepFailure, type Operation, type StepContext } from '../engine/operation.js';
import type { InstanceRecord, Store, TaskRecord } from '../store/types.js';
import { configSet, dbSize, flushAll, ping, setPassword, type RedisTarget } from '../redis/commands.js';
import type { InstanceRuntime } from './runtime.js';

export const TASK_NAMES = {
  restart: 'restartInstance',
  softRestart: 'softRestartInstance',
  flush: 'flushInstance',
  password: 'modify',
  configs: 'modifyConfigs',
} as const;

interface Deps {
  store: Store;
  runtime: InstanceRuntime;
}

export function instanceOperations(d: Deps): Operation[] {
  const instanceOf = async (ctx: StepContext | TaskRecord): Promise<InstanceRecord> => {
    const task = 'task' in ctx ? ctx.task : ctx;
    const i = await d.store.getInstanceById(task.instanceId);
    if (!i) throw new StepFailure('DCS.3022', 'The instance was deleted while the task ran.');
    return i;
  };
  const check = (name: string) => ({
    name,
    run: async (ctx: StepContext) => {
      const i = await instanceOf(ctx);
      if (!(await ping(d.runtime.targetOf(i)))) throw new StepFailure('DCS.5000', 'Redis does not answer after the operation.');
    },
  });

  const restart = (name: string): Operation => ({
    name,
    steps: [
      {
        name: 'Stop and start the Redis process',
        run: async (ctx) => {
          const i = await instanceOf(ctx);
          await d.store.updateInstance(i.id, { status: 'RESTARTING' });
          await d.runtime.restart(i);
        },
      },
      check('Check that Redis answers'),
    ],
    onSuccess: async (t) => d.store.updateInstance(t.instanceId, { status: 'RUNNING' }),
    onFailure: async (t) => {
      const i = await d.store.getInstanceById(t.instanceId);
      if (!i) return;
      const up = d.runtime.isUp(i) && (await ping(d.runtime.targetOf(i)));
      await d.store.updateInstance(i.id, { status: up ? 'RUNNING' : 'ERROR' });
      return up ? 'The instance is running.' : 'The instance is not running; the supervisor keeps trying to start it.';
    },
  });

  const flush: Operation = {
    name: TASK_NAMES.flush,
    steps: [
      { name: 'Flush all databases', run: async (ctx) => flushAll(d.runtime.targetOf(await instanceOf(ctx))) },
      {
        name: 'Verify the data is gone',
        run: async (ctx) => {
          const n = await dbSize(d.runtime.targetOf(await instanceOf(ctx)));
          if (n !== 0) throw new StepFailure('DCS.5000', `${n} keys were written after the flush; they were kept.`);
        },
      },
    ],
  };

  const password: Operation = {
    name: TASK_NAMES.password,
    steps: [
      {
        name: 'Set the new password in Redis',
        run: async (ctx) => {
          const i = await instanceOf(ctx);
          if (i.pendingPassword === null) throw new StepFailure('DCS.5000', 'The new password was lost before it was applied.');
          // Resumable: the password in force is either the old or the new one.
          const current = await reachable(d.runtime.targetOf(i), [i.password, i.pendingPassword]);
          if (current === undefined) throw new StepFailure('DCS.5000', 'Redis refuses both the old and the new password.');
          if (current !== i.pendingPassword) await setPassword(d.runtime.targetOf(i, current), i.pendingPassword);
        },
      },
      {
        name: 'Record the new password',
        run: async (ctx) => {
          const i = await instanceOf(ctx);
          if (i.pendingPassword === null) return; // already recorded by an earlier run
          await d.store.updateInstance(i.id, { password: i.pendingPassword, pendingPassword: null });
          d.runtime.passwordChanged(i.id, i.pendingPassword);
        },
      },
    ],
    onFailure: async (t) => {
      const i = await d.store.getInstanceById(t.instanceId);
      if (!i || i.pendingPassword === null) return;
      const current = await reachable(d.runtime.targetOf(i), [i.password, i.pendingPassword]).catch(() => undefined);
      if (current === i.pendingPassword) {
        await d.store.updateInstance(i.id, { password: current, pendingPassword: null });
        d.runtime.passwordChanged(i.id, current);
        return 'The new password is in force.';
      }
      await d.store.updateInstance(i.id, { pendingPassword: null });
      return 'The old password is still in force.';
    },
  };

  const configs: Operation = {
    name: TASK_NAMES.configs,
    steps: [
      {
        name: 'Apply the configuration',
        run: async (ctx) => {
          const i = await instanceOf(ctx);
          const changes = (ctx.task.state.changes ?? {}) as Record<string, string>;
          for (const [name, value] of Object.entries(changes)) await configSet(d.runtime.targetOf(i), name, value);
        },
      },
      {
        name: 'Record the configuration',
        run: async (ctx) => {
          const i = await instanceOf(ctx);
          const changes = (ctx.task.state.changes ?? {}) as Record<string, string>;
          const stored = (i.extra.configs ?? {}) as Record<string, string>;
          await d.store.updateInstance(i.id, { extra: { ...i.extra, configs: { ...stored, ...changes } } });
        },
      },
    ],
  };

  return [restart(TASK_NAMES.restart), restart(TASK_NAMES.softRestart), flush, password, configs];
}

/** The first password Redis accepts, or undefined when it accepts none. */
async function reachable(t: RedisTarget, candidates: (string | null)[]): Promise<string | null | undefined> {
  for (const pw of candidates) {
    if (await ping({ ...t, password: pw })) return pw;
  }
  return undefined;
}
