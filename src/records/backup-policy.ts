/**
 * The automatic backup policy (`instance_backup_policy`, records.md §1): checked with DCS's codes
 * (DCS.4072–4076), stored with the instance's other automatic-run configurations (kind
 * `backup`), shown in show-instance. The scheduler (records/scheduler.ts) runs its slots.
 */
import { randomUUID } from 'node:crypto';
import { DcsError, Errors } from '../errors.js';
import type { Store } from '../store/types.js';

export interface BackupPlan {
  backup_at: number[];
  period_type: 'weekly';
  begin_at: string;
  timezone_offset: string | null;
}

export interface BackupPolicy {
  backup_type: 'auto' | 'manual';
  save_days: number | null;
  periodical_backup_plan: BackupPlan | null;
}

/** What a request may carry (types already checked by the route's schema). */
export interface BackupPolicyBody {
  backup_type?: string;
  save_days?: number;
  periodical_backup_plan?: { backup_at?: number[]; period_type?: string; begin_at?: string; timezone_offset?: string };
}

/** What is stored (kind `backup`). */
export interface StoredBackupPolicy {
  backup_policy_id: string;
  created_at: number;
  policy: BackupPolicy;
}

const BEGIN_AT = /^([01]\d|2[0-3]):00-([01]\d|2[0-3]):00$/;

function checkPlan(p: NonNullable<BackupPolicyBody['periodical_backup_plan']>): BackupPlan {
  const days = p.backup_at ?? [];
  if (days.length === 0 || new Set(days).size !== days.length || days.some((d) => !Number.isInteger(d) || d < 1 || d > 7)) {
    throw new DcsError('DCS.4075', 'backup_at must list distinct days from 1 (Monday) to 7 (Sunday).');
  }
  if (p.period_type !== 'weekly') throw new DcsError('DCS.4074', 'period_type must be weekly.');
  const m = BEGIN_AT.exec(p.begin_at ?? '');
  if (!m || (Number(m[1]) + 1) % 24 !== Number(m[2])) throw new DcsError('DCS.4076', 'begin_at must be one hour, HH:00-HH:00 (UTC), e.g. 00:00-01:00.');
  return { backup_at: [...days], period_type: 'weekly', begin_at: p.begin_at!, timezone_offset: p.timezone_offset ?? null };
}

/**
 * The policy a request sets. `manual` stops the schedule but keeps the stored days and plan
 * (DCS: the policy is retained when automatic backup is switched to manual).
 */
export function checkBackupPolicy(b: BackupPolicyBody, stored: BackupPolicy | null): BackupPolicy {
  if (b.backup_type !== 'auto' && b.backup_type !== 'manual') throw new DcsError('DCS.4073', 'backup_type must be auto or manual.');
  if (b.save_days !== undefined && (!Number.isInteger(b.save_days) || b.save_days < 1 || b.save_days > 7)) {
    throw new DcsError('DCS.4072', 'save_days must be from 1 to 7.');
  }
  const plan = b.periodical_backup_plan ? checkPlan(b.periodical_backup_plan) : null;
  if (b.backup_type === 'auto') {
    if (b.save_days === undefined) throw new DcsError('DCS.4072', 'save_days (1 to 7) is needed for automatic backups.');
    if (!plan) throw Errors.badParam('periodical_backup_plan', 'is needed for automatic backups.');
  }
  return {
    backup_type: b.backup_type,
    save_days: b.save_days ?? stored?.save_days ?? null,
    periodical_backup_plan: plan ?? stored?.periodical_backup_plan ?? null,
  };
}

export class BackupPolicies {
  /** Told after each change is stored (the scheduler wakes, server.ts). */
  onChange: () => void = () => {};

  constructor(private readonly store: Store) {}

  async stored(instanceId: string): Promise<{ stored: StoredBackupPolicy; updatedAt: number } | null> {
    const c = await this.store.records.getAutoscanConfig(instanceId, 'backup');
    return c ? { stored: c.config as unknown as StoredBackupPolicy, updatedAt: c.updatedAt } : null;
  }

  /** Checks a request's policy against what is stored (nothing is written). */
  async check(instanceId: string | null, body: BackupPolicyBody): Promise<BackupPolicy> {
    const current = instanceId ? await this.stored(instanceId) : null;
    return checkBackupPolicy(body, current?.stored.policy ?? null);
  }

  async save(instanceId: string, policy: BackupPolicy): Promise<void> {
    const now = Date.now();
    const current = await this.stored(instanceId);
    const stored: StoredBackupPolicy = { backup_policy_id: current?.stored.backup_policy_id ?? randomUUID(), created_at: current?.stored.created_at ?? now, policy };
    await this.store.records.putAutoscanConfig({ instanceId, kind: 'backup', config: { ...stored }, updatedAt: now });
    this.onChange();
  }

  /** ShowInstanceResponse.instance_backup_policy: null until set. */
  async view(projectId: string, instanceId: string) {
    const c = await this.stored(instanceId);
    if (!c) return null;
    const { backup_policy_id, created_at, policy } = c.stored;
    return {
      backup_policy_id, created_at: new Date(created_at).toISOString(), updated_at: new Date(c.updatedAt).toISOString(), policy, tenant_id: projectId,
    };
  }
}

/** The request schema of `instance_backup_policy`: JSON types only, the rules above give the codes. */
export const BACKUP_POLICY_SCHEMA = {
  type: 'object',
  properties: {
    backup_type: { type: 'string', maxLength: 16, description: 'auto | manual' },
    save_days: { type: 'integer', description: '1–7, needed for auto' },
    periodical_backup_plan: {
      type: 'object',
      properties: {
        backup_at: { type: 'array', maxItems: 64, items: { type: 'integer' }, description: 'weekdays, 1 = Monday … 7 = Sunday' },
        period_type: { type: 'string', maxLength: 16, description: 'weekly' },
        begin_at: { type: 'string', maxLength: 16, description: 'HH:00-HH:00 UTC' },
        timezone_offset: { type: 'string', maxLength: 16, description: 'accepted, not used (D10)' },
      },
    },
  },
} as const;

/** ShowInstanceResponse.instance_backup_policy. */
export const BACKUP_POLICY_VIEW = {
  type: ['object', 'null'],
  required: ['backup_policy_id', 'created_at', 'updated_at', 'policy', 'tenant_id'],
  properties: {
    backup_policy_id: { type: 'string' }, created_at: { type: 'string' }, updated_at: { type: 'string' }, tenant_id: { type: 'string' },
    policy: {
      type: 'object',
      required: ['backup_type', 'save_days', 'periodical_backup_plan'],
      properties: {
        backup_type: { type: 'string' }, save_days: { type: ['integer', 'null'] },
        periodical_backup_plan: {
          type: ['object', 'null'],
          required: ['backup_at', 'period_type', 'begin_at', 'timezone_offset'],
          properties: {
            backup_at: { type: 'array', items: { type: 'integer' } }, period_type: { type: 'string' }, begin_at: { type: 'string' },
            timezone_offset: { type: ['string', 'null'] },
          },
        },
      },
    },
  },
} as const;
