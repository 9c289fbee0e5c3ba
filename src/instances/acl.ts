/**
 * ACL accounts (automation.md §1.5) as the instance record keeps them: Redis ACL users, recorded
 * in `extra.acl_accounts` so every (re)start of every node re-creates them (ACL users are neither
 * replicated nor persisted by Redis here). The password is kept only as its SHA-256, which
 * `ACL SETUSER … #<hash>` accepts: the plain text is never stored.
 */
import { createHash } from 'node:crypto';
import type { InstanceRecord } from './records.js';

export type AclStatus = 'CREATING' | 'AVAILABLE' | 'CREATEFAILED' | 'DELETING' | 'DELETEFAILED' | 'UPDATING' | 'ERROR';
export type AclRole = 'read' | 'write';

export interface AclAccount {
  id: string;
  name: string;
  role: AclRole;
  description: string;
  status: AclStatus;
  /** SHA-256 (hex) of the password. */
  passwordSha256: string;
}

export const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export function aclAccountsOf(i: InstanceRecord): AclAccount[] {
  return Array.isArray(i.extra.acl_accounts) ? (i.extra.acl_accounts as AclAccount[]) : [];
}

/**
 * The accounts as shown: the one the instance's running task applies shows the status its request
 * recorded (CREATING, UPDATING) until that task has ended. The task records the outcome
 * (AVAILABLE, or a failure status) in a hook and ends a moment later; until then the instance is
 * still busy with it, and an AVAILABLE shown then would invite a change refused as busy.
 */
export function aclAccountsShown(i: InstanceRecord, running: { state: Record<string, unknown> } | undefined): AclAccount[] {
  const { accountId, inFlightStatus } = running?.state ?? {};
  if (typeof accountId !== 'string' || typeof inFlightStatus !== 'string') return aclAccountsOf(i);
  return aclAccountsOf(i).map((a) => (a.id === accountId ? { ...a, status: inFlightStatus as AclStatus } : a));
}

/** The instance's accounts with this one replaced (or added), or removed when `next` is null: the key of extra to set. */
export function withAccount(i: InstanceRecord, id: string, next: AclAccount | null): { acl_accounts: AclAccount[] } {
  const others = aclAccountsOf(i).filter((a) => a.id !== id);
  return { acl_accounts: next ? [...others, next] : others };
}

/** The ACL SETUSER rules of an account: enabled, its password hash, every key and channel, its role's commands. */
export function aclRules(a: AclAccount): string[] {
  const commands = a.role === 'write' ? ['+@all', '-@admin', '-@dangerous'] : ['-@all', '+@read', '+@connection'];
  return ['reset', 'on', `#${a.passwordSha256}`, '~*', '&*', ...commands];
}
