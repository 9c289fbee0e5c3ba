/** Wire format of migrations: the SDK models' field names (automation.md §4.4). */
import type { InstanceRecord } from '../instances/records.js';
import type { MigrationLog, MigrationRecord } from '../migrations/records.js';
import type { MigrationStats } from '../migrations/service.js';

const iso = (ms: number) => new Date(ms).toISOString();
type Addr = { host: string; port: number } | null;

export interface MigrationContext {
  source: InstanceRecord | null;
  target: InstanceRecord | null;
  sourceAddr: Addr;
  targetAddr: Addr;
  /** The service's own host (ecs_tenant_private_ip). */
  host: string;
}

const hostPort = (a: Addr) => (a ? `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}` : '');

function dataSource(m: MigrationRecord, c: MigrationContext): string {
  const b = m.settings.backupFiles;
  if (b) return String(b.bucket_name ?? b.backup_id ?? '');
  return hostPort(c.sourceAddr);
}

/** The import's files as the request named them; the service's own file paths stay inside. */
function backupFilesView(b: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!b) return null;
  const { paths: _paths, ...shown } = b;
  // The SDK's BackupFilesBody has backup_id flat; the Terraform provider reads it back from
  // backup_files.backup_record.backup_id (flattenBackupImportTaskBackupFiles): both are shown.
  return typeof shown.backup_id === 'string' ? { ...shown, backup_record: { backup_id: shown.backup_id } } : shown;
}

export function migrationListView(m: MigrationRecord, c: MigrationContext, errorMessage: string | undefined) {
  return {
    task_id: m.id,
    task_name: m.name,
    status: m.status,
    migration_type: m.migrationType,
    migration_method: m.migrationMethod ?? '',
    ecs_tenant_private_ip: c.host,
    data_source: dataSource(m, c),
    source_instance_name: c.source?.name ?? '',
    source_instance_id: c.source?.id ?? '',
    target_instance_addrs: hostPort(c.targetAddr),
    target_instance_name: c.target?.name ?? '',
    target_instance_id: c.target?.id ?? '',
    created_at: iso(m.createdAt),
    description: m.description,
    source_instance_status: c.source?.status ?? '',
    target_instance_status: c.target?.status ?? '',
    source_instance_subnet_id: '',
    target_instance_subnet_id: '',
    source_instance_spec_code: (c.source?.extra.spec_code as string | undefined) ?? '',
    target_instance_spec_code: (c.target?.extra.spec_code as string | undefined) ?? '',
    error_message: errorMessage ?? '',
    released_at: null,
    version: 'v2',
    resume_mode: m.resumeMode,
    supported_features: [],
  };
}

function endpointView(i: InstanceRecord | null, a: Addr, given: MigrationRecord['settings']['source']) {
  if (!given) return null;
  return {
    id: i?.id ?? given.instanceId ?? null,
    name: i?.name ?? null,
    addrs: a ? hostPort(a) : given.addrs,
    ip: a?.host ?? null,
    port: a ? String(a.port) : null,
    password: null,
    task_status: null,
    proxy_multi_db: false,
    db: null,
  };
}

export function migrationView(m: MigrationRecord, c: MigrationContext) {
  return {
    task_id: m.id,
    task_name: m.name,
    description: m.description,
    status: m.status,
    migration_type: m.migrationType,
    migration_method: m.migrationMethod ?? '',
    ecs_tenant_private_ip: c.host,
    backup_files: backupFilesView(m.settings.backupFiles),
    network_type: m.settings.networkType ?? null,
    source_instance: endpointView(c.source, c.sourceAddr, m.settings.source),
    target_instance: endpointView(c.target, c.targetAddr, m.settings.target),
    created_at: iso(m.createdAt),
    updated_at: iso(m.updatedAt),
    released_at: null,
    version: 'v2',
    resume_mode: m.resumeMode,
    supported_features: [],
    tenant_vpc_id: m.settings.tenantVpcId ?? '',
    tenant_subnet_id: m.settings.tenantSubnetId ?? '',
    tenant_security_group_id: m.settings.tenantSecurityGroupId ?? '',
    bandwidth_limit_mb: m.bandwidthLimitMb === null ? null : String(m.bandwidthLimitMb),
    task_status: null,
  };
}

export function statsView(s: MigrationStats) {
  const str = (v: number | string | null) => (v === null ? '' : String(v));
  return {
    full_migration_progress: String(s.progress),
    offset: String(s.offset),
    source_dbsize: str(s.sourceDbsize),
    target_dbsize: str(s.targetDbsize),
    target_input_kbps: str(s.targetInputKbps),
    target_ops: str(s.targetOps),
    is_migrating: s.migrating,
  };
}

export function logView(l: MigrationLog) {
  return { created_at: iso(l.createdAt), log_level: l.level, message: l.message, log_code: l.code, keyword: [] };
}
