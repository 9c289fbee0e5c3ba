/**
 * `dcs-tasks migrations …`: data migrations (automation.md §4) — create (online, or an import of
 * RDB files), list, show, stats, logs, stop, restart, delete. Source and target passwords come
 * from flags or, better, the environment (DCS_MIGRATION_SOURCE_PASSWORD / _TARGET_PASSWORD);
 * the service never shows them back.
 */
import type { Command } from 'commander';
import type { DcsTasksClient, MigrationBatchResult, MigrationEndpointBody, MigrationStatus } from '../client/index.js';
import { clientCommand, connect, group, intArg, type ConnectionFlags } from './connection.js';
import { EXIT, ExitWith, UsageError, action, err, fields, out, printJson, table, when } from './output.js';
import { pageLine, repeated } from './window.js';

interface CreateFlags extends ConnectionFlags {
  name: string;
  description?: string;
  sourceId?: string;
  sourceAddrs?: string;
  sourcePassword?: string;
  targetId?: string;
  targetAddrs?: string;
  targetPassword?: string;
  incremental?: boolean;
  resumeMode: 'auto' | 'manual';
  bandwidth?: number;
  bucket?: string;
  file?: string[];
  wait?: boolean;
}

const env = (name: string) => process.env[name] || undefined;

function endpoint(id: string | undefined, addrs: string | undefined, password: string | undefined, side: string): MigrationEndpointBody {
  if ((id === undefined) === (addrs === undefined)) throw new UsageError(`give exactly one of --${side}-id and --${side}-addrs.`);
  return { ...(id ? { id } : { addrs }), ...(password ? { password } : {}) };
}

const FINAL: MigrationStatus[] = ['SUCCESS', 'FAILED', 'TERMINATED', 'INCRMIGEATING'];

/** Waits for the copy to end (or, incremental, to follow the source); exit 4 when it failed. */
async function untilSettled(c: DcsTasksClient, id: string): Promise<MigrationStatus> {
  for (;;) {
    const m = await c.getMigration(id);
    if (FINAL.includes(m.status)) {
      if (m.status === 'FAILED') {
        const logs = await c.listMigrationLogs(id, { log_level: 'ERROR', limit: 1 });
        err(`migration ${id} FAILED: ${logs.migration_logs[0]?.message ?? 'see its logs'}`);
        throw new ExitWith(EXIT.taskFailed);
      }
      return m.status;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function printBatch(r: MigrationBatchResult, verb: string): void {
  out(table(['TASK', 'RESULT', 'ERROR'], r.migration_tasks.map((x) => [x.task_id, x.result, x.error_code ? `${x.error_code}: ${x.error_msg}` : ''])));
  const failed = r.migration_tasks.filter((x) => x.result === 'failed');
  // The reasons on stderr too, as every refusal is reported there.
  for (const x of failed) err(`dcs-tasks: ${verb} was refused for migration ${x.task_id}: ${x.error_code}: ${x.error_msg}`);
  if (failed.length) throw new ExitWith(EXIT.api);
}

export function registerMigrationCommands(program: Command): void {
  const migrations = group(program, 'migrations', 'data migrations into an instance (online, or an import of RDB files)', 'dcs-tasks migrations list');

  clientCommand(migrations, 'create', 'copy a Redis into a target (online), or import RDB files from a local bucket (--bucket, --file)', 'DCS_MIGRATION_SOURCE_PASSWORD=… dcs-tasks migrations create --name move1 --source-addrs 127.0.0.1:6379 --target-id <ID> --incremental --wait')
    .requiredOption('--name <name>', 'task name')
    .option('--description <text>', 'description')
    .option('--source-id <id>', 'source: an instance of the project')
    .option('--source-addrs <host:port>', 'source: any Redis')
    .option('--source-password <p>', 'source password (DCS_MIGRATION_SOURCE_PASSWORD; prefer the variable)')
    .option('--target-id <id>', 'target: an instance of the project')
    .option('--target-addrs <host:port>', 'target: any Redis (online only)')
    .option('--target-password <p>', 'target password (DCS_MIGRATION_TARGET_PASSWORD)')
    .option('--incremental', 'after the full copy, follow the source until stopped')
    .option('--resume-mode <mode>', 'after a service restart during the copy: auto (resume) or manual (fail)', 'auto')
    .option('--bandwidth <mb>', 'payload limit in MB/s (1-10000)', intArg(1, 10000))
    .option('--bucket <name>', 'import: bucket under <data>/obs')
    .option('--file <name...>', 'import: RDB files in the bucket, in order')
    .option('--wait', 'wait until the copy is done (or, incremental, following the source)')
    .action(action(async (f: CreateFlags) => {
      if (f.resumeMode !== 'auto' && f.resumeMode !== 'manual') throw new UsageError('--resume-mode is auto or manual.');
      const c = connect(f);
      const target = endpoint(f.targetId, f.targetAddrs, f.targetPassword ?? env('DCS_MIGRATION_TARGET_PASSWORD'), 'target');
      const common = { resume_mode: f.resumeMode, ...(f.bandwidth ? { bandwidth_limit_mb: String(f.bandwidth) } : {}) };
      let id: string;
      if (f.bucket || f.file) {
        if (!f.bucket || !f.file?.length) throw new UsageError('an import needs --bucket and at least one --file.');
        const r = await c.createMigrationTask({
          task_name: f.name, description: f.description, migration_type: 'backupfile_import', migration_method: 'full_amount_migration',
          backup_files: { file_source: 'self_build_obs', bucket_name: f.bucket, files: f.file.map((file_name) => ({ file_name })) },
          target_instance: target, ...common,
        });
        id = r.id;
      } else {
        const source = endpoint(f.sourceId, f.sourceAddrs, f.sourcePassword ?? env('DCS_MIGRATION_SOURCE_PASSWORD'), 'source');
        const r = await c.createOnlineMigration({ name: f.name, description: f.description, vpc_id: '', subnet_id: '', security_group_id: '' });
        id = r.instance_id;
        await c.configureMigration(id, {
          migration_method: f.incremental ? 'incremental_migration' : 'full_amount_migration', source_instance: source, target_instance: target, ...common,
        });
      }
      const status = f.wait ? await untilSettled(c, id) : 'MIGRATING';
      if (f.json) return printJson(await c.getMigration(id));
      out(`migration ${id} ${status}`);
    }));

  clientCommand(migrations, 'list', 'list migrations, newest first', 'dcs-tasks migrations list --limit 20')
    .option('--name <text>', 'only names containing this')
    .option('--offset <n>', 'skip this many', intArg(0))
    .option('--limit <n>', 'at most this many (1-1000)', intArg(1, 1000))
    .action(action(async (f: ConnectionFlags & { name?: string; offset?: number; limit?: number }) => {
      const r = await connect(f).listMigrations({ name: f.name, offset: f.offset, limit: f.limit });
      if (f.json) return printJson(r);
      out(table(['ID', 'NAME', 'STATUS', 'TYPE', 'SOURCE', 'TARGET', 'CREATED', 'ERROR'], r.migration_tasks.map((m) => [
        m.task_id, m.task_name, m.status, m.migration_method || m.migration_type, m.source_instance_name || m.data_source,
        m.target_instance_name || m.target_instance_addrs, when(m.created_at), m.error_message,
      ])));
      out(pageLine('dcs-tasks migrations list', repeated({ '--name': f.name, '--limit': f.limit }), f.offset ?? 0, r.migration_tasks.length, r.count, 'migrations'));
    }));

  clientCommand(migrations, 'show <task_id>', 'one migration: status, source, target, settings', 'dcs-tasks migrations show <TASK>')
    .action(action(async (id: string, f: ConnectionFlags) => {
      const m = await connect(f).getMigration(id);
      if (f.json) return printJson(m);
      const side = (e: typeof m.source_instance) => (e ? `${e.name ?? e.id ?? ''} ${e.addrs ?? ''}`.trim() : '-');
      out(fields([
        ['id', m.task_id], ['name', m.task_name], ['status', m.status], ['type', m.migration_type], ['method', m.migration_method],
        ['source', side(m.source_instance)], ['target', side(m.target_instance)], ['resume mode', m.resume_mode],
        ['bandwidth', m.bandwidth_limit_mb ? `${m.bandwidth_limit_mb} MB/s` : 'unlimited'], ['created', when(m.created_at)], ['updated', when(m.updated_at)],
      ]));
    }));

  clientCommand(migrations, 'stats <task_id>', 'progress, key counts and the target\'s input rate', 'dcs-tasks migrations stats <TASK>')
    .action(action(async (id: string, f: ConnectionFlags) => {
      const s = await connect(f).getMigrationStats(id);
      if (f.json) return printJson(s);
      out(fields([
        ['progress', `${s.full_migration_progress} %`], ['source keys', s.source_dbsize], ['target keys', s.target_dbsize],
        ['offset', s.offset], ['target input', s.target_input_kbps ? `${s.target_input_kbps} kB/s` : ''], ['target ops', s.target_ops],
        ['migrating', s.is_migrating],
      ]));
    }));

  clientCommand(migrations, 'logs <task_id>', 'the migration\'s log, newest first', 'dcs-tasks migrations logs <TASK>')
    .option('--level <level>', 'INFO or ERROR')
    .option('--offset <n>', 'skip this many', intArg(0))
    .option('--limit <n>', 'at most this many (1-1000)', intArg(1, 1000))
    .action(action(async (id: string, f: ConnectionFlags & { level?: 'INFO' | 'ERROR'; offset?: number; limit?: number }) => {
      const r = await connect(f).listMigrationLogs(id, { log_level: f.level, offset: f.offset, limit: f.limit });
      if (f.json) return printJson(r);
      out(table(['TIME', 'LEVEL', 'MESSAGE'], r.migration_logs.map((l) => [when(l.created_at), l.log_level, l.message])));
    }));

  clientCommand(migrations, 'stop <task_id...>', 'stop migrations (what was copied stays; the target is writable)', 'dcs-tasks migrations stop <TASK>')
    .option('--sync', 'end only the incremental phase of one migration (it becomes SUCCESS)')
    .action(action(async (ids: string[], f: ConnectionFlags & { sync?: boolean }) => {
      const c = connect(f);
      if (f.sync) {
        if (ids.length !== 1) throw new UsageError('--sync takes one task id.');
        await c.syncStopMigration(ids[0]!);
        return f.json ? printJson(await c.getMigration(ids[0]!)) : out(`migration ${ids[0]} SUCCESS`);
      }
      const r = await c.batchStopMigrations(ids);
      if (f.json) return printJson(r);
      printBatch(r, 'stop');
    }));

  clientCommand(migrations, 'restart <task_id...>', 'run stopped, failed or finished online migrations again', 'dcs-tasks migrations restart <TASK>')
    .action(action(async (ids: string[], f: ConnectionFlags) => {
      const r = await connect(f).batchRestartMigrations(ids);
      if (f.json) return printJson(r);
      printBatch(r, 'restart');
    }));

  clientCommand(migrations, 'delete <task_id...>', 'delete finished migrations (all or nothing; target data stays)', 'dcs-tasks migrations delete <TASK>')
    .action(action(async (ids: string[], f: ConnectionFlags) => {
      const r = await connect(f).deleteMigrations(ids);
      if (f.json) return printJson(r);
      out(`deleted ${r.task_id_list.join(', ')}`);
    }));
}
