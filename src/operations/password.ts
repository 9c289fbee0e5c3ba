/**
 * PUT /v2/{project_id}/instances/{id}/password: the `modify` task. The new password is written
 * as the instance's pending password in the same transaction as the task, applied on every node,
 * then recorded as the password in force.
 */
import { Errors } from '../errors.js';
import { StepFailure } from '../engine/operation.js';
import { configSet, ping, setPassword, type RedisTarget } from '../redis/commands.js';
import { checkPasswordComplexity } from '../instances/rules.js';
import type { Endpoint, InstanceOperation, OperationModule, OpRun } from './operation.js';

type NoState = Record<string, never>;

/** The first password Redis accepts, or undefined when it accepts none. */
export async function acceptedPassword(t: RedisTarget, candidates: (string | null)[]): Promise<string | null | undefined> {
  for (const pw of candidates) {
    if (await ping({ ...t, password: pw })) return pw;
  }
  return undefined;
}

/**
 * Makes the pending password the one in force on every node. Idempotent: on each node the
 * password in force is either the old or the new one. Run again by the recording step, because
 * a Redis restarted in between (service crash) starts with the recorded password.
 */
async function applyPendingPassword(x: OpRun<NoState>): Promise<boolean> {
  const i = await x.instance();
  const next = i.pendingPassword;
  if (next === null) return false;
  const nodes = i.managed ? i.nodes : [null];
  for (const [k, t] of x.allTargets(i).entries()) {
    const current = await acceptedPassword(t, [i.password, next]);
    if (current === undefined) throw new StepFailure('DCS.5000', 'Redis refuses both the old and the new password.');
    if (nodes[k]?.role === 'replica') await configSet({ ...t, password: current }, 'masterauth', next ?? '');
    if (current !== next) await setPassword({ ...t, password: current }, next);
  }
  return true;
}

export const modify: InstanceOperation<NoState> = {
  name: 'modify',
  busy: { code: 'DCS.4115', what: 'changing its password' },
  steps: [
    {
      name: 'Set the new password in Redis',
      run: async (x) => {
        const i = await x.instance();
        if (i.pendingPassword === null && i.password !== null) return; // recorded by an earlier run
        if (!(await applyPendingPassword(x))) throw new StepFailure('DCS.5000', 'The new password was lost before it was applied.');
      },
    },
    {
      name: 'Record the new password',
      run: async (x) => {
        if (!(await applyPendingPassword(x))) return; // recorded by an earlier run
        const i = await x.instance();
        // '' pending = no password (a reset with no_password_access).
        await x.save(i, { password: i.pendingPassword || null, pendingPassword: null });
      },
    },
  ],
  onFailure: async (x) => {
    const i = await x.instance().catch(() => null);
    if (!i || i.pendingPassword === null) return;
    const current = await acceptedPassword(x.target(i), [i.password, i.pendingPassword]).catch(() => undefined);
    if (current === i.pendingPassword) {
      await x.save(i, { password: current, pendingPassword: null });
      return 'The new password is in force.';
    }
    await x.save(i, { pendingPassword: null });
    return 'The old password is still in force.';
  },
};

/** POST …/password/reset: the same steps, without the old password; busy code DCS.4121. */
export const resetPassword: InstanceOperation<NoState> = { ...modify, name: 'resetPassword', busy: { code: 'DCS.4121', what: 'resetting its password' } };

export interface PasswordResetRequest {
  new_password?: string;
  no_password_access?: boolean;
}

const NULLABLE_STRING = { type: ['string', 'null'] };

const resetPasswordEndpoint: Endpoint<PasswordResetRequest> = {
  method: 'POST',
  url: '/instances/:instance_id/password/reset',
  operationId: 'ResetPassword',
  summary: 'Reset the instance password without the old one (task "resetPassword")',
  tags: ['operations'],
  body: { type: 'object', properties: { new_password: { type: 'string', maxLength: 64 }, no_password_access: { type: 'boolean' } } },
  reply: {
    status: 200,
    schema: {
      type: 'object',
      required: ['code', 'message', 'ext_message', 'retry_times_left', 'lock_time', 'lock_time_left'],
      properties: {
        code: NULLABLE_STRING, message: NULLABLE_STRING, ext_message: NULLABLE_STRING,
        retry_times_left: NULLABLE_STRING, lock_time: NULLABLE_STRING, lock_time_left: NULLABLE_STRING,
      },
    },
  },
  handle: async ({ params, body, operable, start }) => {
    const clear = body.no_password_access === true;
    if (clear === (body.new_password !== undefined)) {
      throw Errors.badParam('new_password', 'give either new_password or no_password_access: true.');
    }
    if (!clear) checkPasswordComplexity(body.new_password!);
    const instance = await operable(params.instance_id);
    const t = await start(resetPassword, instance, {
      params: { instance_id: instance.id, no_password_access: clear }, state: {}, instancePatch: { pendingPassword: clear ? '' : body.new_password! },
    });
    return { code: '0', message: `The password reset was accepted; task ${t.id} applies it.`, ext_message: null, retry_times_left: null, lock_time: null, lock_time_left: null };
  },
};

export interface PasswordChangeRequest {
  old_password?: string | null;
  new_password: string;
}

const changePassword: Endpoint<PasswordChangeRequest> = {
  method: 'PUT',
  url: '/instances/:instance_id/password',
  operationId: 'UpdatePassword',
  summary: 'Change the instance password (task "modify")',
  tags: ['operations'],
  body: {
    type: 'object',
    required: ['new_password'],
    properties: { old_password: { type: ['string', 'null'], maxLength: 64 }, new_password: { type: 'string', maxLength: 64 } },
  },
  reply: {
    status: 200,
    schema: {
      type: 'object',
      required: ['result', 'message', 'lock_time', 'lock_time_left', 'retry_times_left'],
      properties: {
        result: { type: 'string' }, message: { type: 'string' }, lock_time: { type: 'string' },
        lock_time_left: { type: 'string' }, retry_times_left: { type: 'string' },
      },
    },
  },
  handle: async ({ params, body, operable, start }) => {
    const instance = await operable(params.instance_id);
    const oldPassword = body.old_password ?? null;
    checkPasswordComplexity(body.new_password);
    if ((oldPassword ?? '') !== (instance.password ?? '')) throw Errors.oldPasswordWrong();
    if (body.new_password === oldPassword) throw Errors.passwordComplexity('the new password must differ from the old one.');
    await start(modify, instance, { params: { instance_id: instance.id }, state: {}, instancePatch: { pendingPassword: body.new_password } });
    // DCS answers the change at once; the modify task applies it (no lockout is kept here).
    return { result: 'success', message: 'The password change was accepted; the modify task applies it.', lock_time: '0', lock_time_left: '0', retry_times_left: '5' };
  },
};

export default { operations: [modify, resetPassword], endpoints: [changePassword, resetPasswordEndpoint] } satisfies OperationModule;
