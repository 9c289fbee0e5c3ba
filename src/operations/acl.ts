/**
 * ACL accounts (automation.md §1.5): Redis ACL users behind the SDK's account routes. Each change
 * is a task: the request records the account (CREATING / UPDATING / DELETING) in the same
 * transaction as its task, the task applies it on every node (ACL SETUSER / ACL DELUSER) and
 * records AVAILABLE, or removes the account. Deletion is the `DeleteAcl` task the provider waits on.
 */
import { randomUUID } from 'node:crypto';
import { DcsError, Errors } from '../errors.js';
import { StepFailure } from '../engine/operation.js';
import { aclDelUser, aclSetUser } from '../redis/commands.js';
import { aclAccountsOf, aclRules, sha256, withAccount, type AclAccount, type AclRole, type AclStatus } from '../instances/acl.js';
import { checkPasswordComplexity } from '../instances/rules.js';
import type { InstanceRecord } from '../instances/records.js';
import type { Endpoint, EndpointCall, InstanceOperation, OperationModule, OpRun } from './operation.js';

interface AclState {
  accountId: string;
  /** The status the request recorded (CREATING, UPDATING): shown until the task has ended (aclAccountsShown). */
  inFlightStatus?: AclStatus;
}

const BUSY = { code: 'DCS.4026', what: 'changing an ACL account' };

async function accountOf(x: OpRun<AclState>): Promise<{ i: InstanceRecord; a: AclAccount | undefined }> {
  const i = await x.instance();
  return { i, a: aclAccountsOf(i).find((y) => y.id === x.state.accountId) };
}

async function setStatus(x: OpRun<AclState>, status: AclStatus): Promise<void> {
  const { i, a } = await accountOf(x);
  if (a && a.status !== status) await x.save(i, { extraKeys: withAccount(i, a.id, { ...a, status }) });
}

/** Creates or updates: the account as recorded goes to every node, then it is AVAILABLE. */
const applyAccount = (name: string, failed: AclStatus): InstanceOperation<AclState> => ({
  name,
  busy: BUSY,
  steps: [
    {
      name: 'Apply the ACL user on every node',
      run: async (x) => {
        const { i, a } = await accountOf(x);
        if (!a) throw new StepFailure('DCS.4800', 'The account no longer exists.');
        for (const t of x.allTargets(i)) await aclSetUser(t, a.name, aclRules(a));
      },
    },
  ],
  onSuccess: (x) => setStatus(x, 'AVAILABLE'),
  onFailure: async (x) => {
    await setStatus(x, failed);
    return x.settleIfPresent();
  },
});

export const createAcl = applyAccount('CreateAcl', 'CREATEFAILED');
export const updateAclRole = applyAccount('UpdateAclRole', 'ERROR');
export const updateAclPassword = applyAccount('UpdateAclPassword', 'ERROR');
export const resetAclPassword = applyAccount('ResetAclPassword', 'ERROR');
export const updateAclRemark = applyAccount('UpdateAclRemark', 'ERROR');

export const deleteAcl: InstanceOperation<AclState> = {
  name: 'DeleteAcl',
  busy: BUSY,
  steps: [
    {
      name: 'Delete the ACL user on every node',
      run: async (x) => {
        const { i, a } = await accountOf(x);
        if (!a) return; // removed by an earlier run
        for (const t of x.allTargets(i)) await aclDelUser(t, a.name);
        await x.save(i, { extraKeys: withAccount(i, a.id, null) });
      },
    },
  ],
  onFailure: async (x) => {
    await setStatus(x, 'DELETEFAILED');
    return x.settleIfPresent();
  },
};

// ---- requests ----

const NAME = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{3,63}$', description: '4-64 characters: letters, digits, - and _, starting with a letter' } as const;
const ROLE = { type: 'string', enum: ['read', 'write'] } as const;
const PASSWORD = { type: 'string', maxLength: 64 } as const;
const EMPTY_REPLY = { status: 200 as const, schema: { type: 'object', properties: {} } };
const PASSWORD_REPLY = {
  status: 200 as const,
  schema: {
    type: 'object',
    required: ['result', 'message', 'lock_time', 'lock_time_left', 'retry_times_left'],
    properties: { result: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' }, lock_time: { type: 'string' }, lock_time_left: { type: 'string' }, retry_times_left: { type: 'string' } },
  },
};
const ACCEPTED = { result: 'success', code: '0', message: 'Accepted; the task applies it.', lock_time: '0', lock_time_left: '0', retry_times_left: '5' };

/** The instance and the account a request names: 404 DCS.4001 for an unknown account. */
async function target(call: EndpointCall<unknown>): Promise<{ instance: InstanceRecord; account: AclAccount }> {
  const instance = await call.operable(call.params.instance_id);
  const account = aclAccountsOf(instance).find((a) => a.id === call.params.account_id);
  if (!account) throw new DcsError('DCS.4001', 'The ACL account does not exist.');
  return { instance, account };
}

/** Records the account as it will be (with `status`) in the task's transaction, and starts the task. */
function startWith(call: EndpointCall<unknown>, op: InstanceOperation<AclState>, instance: InstanceRecord, next: AclAccount, details: Record<string, unknown>) {
  return call.start(op, instance, {
    params: { account_id: next.id, account_name: next.name, ...details },
    details: { account_name: next.name, ...details },
    state: { accountId: next.id, inFlightStatus: next.status },
    instancePatch: { extraKeys: withAccount(instance, next.id, next) },
  });
}

export interface CreateAclAccountRequest { account_name: string; account_role: AclRole; account_password: string; description?: string }

const createAclAccount: Endpoint<CreateAclAccountRequest> = {
  method: 'POST',
  url: '/instances/:instance_id/accounts',
  operationId: 'CreateAclAccount',
  summary: 'Create an ACL account (a Redis ACL user; task CreateAcl, status CREATING → AVAILABLE)',
  tags: ['acl accounts'],
  body: {
    type: 'object',
    required: ['account_name', 'account_role', 'account_password'],
    properties: { account_name: NAME, account_role: ROLE, account_password: PASSWORD, description: { type: 'string', maxLength: 1024 } },
  },
  reply: EMPTY_REPLY,
  handle: async (call) => {
    const b = call.body;
    checkPasswordComplexity(b.account_password);
    if (b.account_name === 'default') throw Errors.badParam('account_name', '"default" is the instance\'s own account.');
    const instance = await call.operable(call.params.instance_id);
    if (aclAccountsOf(instance).some((a) => a.name === b.account_name)) throw Errors.badParam('account_name', `an account named ${b.account_name} exists.`);
    const account: AclAccount = {
      id: randomUUID(), name: b.account_name, role: b.account_role, description: b.description ?? '', status: 'CREATING',
      passwordSha256: sha256(b.account_password),
    };
    await startWith(call, createAcl, instance, account, { account_role: b.account_role });
    return {};
  },
};

const updateAclAccount: Endpoint<{ account_role: AclRole }> = {
  method: 'PUT',
  url: '/instances/:instance_id/accounts/:account_id/role',
  operationId: 'UpdateAclAccount',
  summary: 'Change an ACL account\'s role (task UpdateAclRole, answered with its job id)',
  tags: ['acl accounts'],
  body: { type: 'object', required: ['account_role'], properties: { account_role: ROLE } },
  reply: { status: 200, schema: { type: 'object', required: ['instance_id', 'job_id'], properties: { instance_id: { type: 'string' }, job_id: { type: 'string' } } } },
  handle: async (call) => {
    const { instance, account } = await target(call);
    const t = await startWith(call, updateAclRole, instance, { ...account, role: call.body.account_role, status: 'UPDATING' }, { account_role: call.body.account_role });
    return { instance_id: instance.id, job_id: t.id };
  },
};

const updateAclAccountPassWord: Endpoint<{ old_password: string; new_password: string }> = {
  method: 'PUT',
  url: '/instances/:instance_id/accounts/:account_id/password/modify',
  operationId: 'UpdateAclAccountPassWord',
  summary: 'Change an ACL account\'s password (old one required; task UpdateAclPassword)',
  tags: ['acl accounts'],
  body: { type: 'object', required: ['old_password', 'new_password'], properties: { old_password: PASSWORD, new_password: PASSWORD } },
  reply: PASSWORD_REPLY,
  handle: async (call) => {
    checkPasswordComplexity(call.body.new_password);
    const { instance, account } = await target(call);
    if (sha256(call.body.old_password) !== account.passwordSha256) throw Errors.oldPasswordWrong();
    await startWith(call, updateAclPassword, instance, { ...account, passwordSha256: sha256(call.body.new_password), status: 'UPDATING' }, {});
    return ACCEPTED;
  },
};

const resetAclAccountPassWord: Endpoint<{ new_password: string }> = {
  method: 'PUT',
  url: '/instances/:instance_id/accounts/:account_id/password/reset',
  operationId: 'ResetAclAccountPassWord',
  summary: 'Reset an ACL account\'s password (task ResetAclPassword)',
  tags: ['acl accounts'],
  body: { type: 'object', required: ['new_password'], properties: { old_password: PASSWORD, new_password: PASSWORD } },
  reply: PASSWORD_REPLY,
  handle: async (call) => {
    checkPasswordComplexity(call.body.new_password);
    const { instance, account } = await target(call);
    await startWith(call, resetAclPassword, instance, { ...account, passwordSha256: sha256(call.body.new_password), status: 'UPDATING' }, {});
    return ACCEPTED;
  },
};

const updateAclAccountRemark: Endpoint<{ description: string }> = {
  method: 'PUT',
  url: '/instances/:instance_id/accounts/:account_id',
  operationId: 'UpdateAclAccountRemark',
  summary: 'Change an ACL account\'s description (task UpdateAclRemark)',
  tags: ['acl accounts'],
  body: { type: 'object', required: ['description'], properties: { description: { type: 'string', maxLength: 1024 } } },
  // 204: the SDK's UpdateAclAccountRemarkResponse is empty, and the provider's updateDescription
  // takes only 204 (OkCodes), failing the apply on a 200.
  reply: { status: 204 },
  handle: async (call) => {
    const { instance, account } = await target(call);
    await startWith(call, updateAclRemark, instance, { ...account, description: call.body.description, status: 'UPDATING' }, {});
  },
};

const deleteAclAccount: Endpoint = {
  method: 'DELETE',
  url: '/instances/:instance_id/accounts/:account_id',
  operationId: 'DeleteAclAccount',
  summary: 'Delete an ACL account (task DeleteAcl: ACL DELUSER on every node)',
  tags: ['acl accounts'],
  reply: EMPTY_REPLY,
  handle: async (call) => {
    const { instance, account } = await target(call);
    await startWith(call, deleteAcl, instance, { ...account, status: 'DELETING' }, {});
    return {};
  },
};

export default {
  operations: [createAcl, updateAclRole, updateAclPassword, resetAclPassword, updateAclRemark, deleteAcl],
  endpoints: [createAclAccount, updateAclAccount, updateAclAccountPassWord, resetAclAccountPassWord, updateAclAccountRemark, deleteAclAccount],
} satisfies OperationModule;
