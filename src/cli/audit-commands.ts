/** `dcs-tasks audit list`: the deletion audit (who deleted which task, when, why). */
import type { Command } from 'commander';
import { clientCommand, connect, group, intArg, type ConnectionFlags } from './connection.js';
import { action, out, printJson, table, when } from './output.js';
import { pageLine } from './window.js';

export function registerAuditCommands(program: Command): void {
  const audit = group(program, 'audit', 'the deletion audit of the project', 'dcs-tasks audit list');
  clientCommand(audit, 'list', 'who deleted which task, when, with which message (newest first)', 'dcs-tasks audit list --limit 20')
    .option('--offset <n>', 'skip this many records', intArg(0))
    .option('--limit <n>', 'page size, 1-1000 (default 10)', intArg(1, 1000))
    .action(action(async (f: ConnectionFlags & { offset?: number; limit?: number }) => {
      const r = await connect(f).listTaskAudit({ offset: f.offset, limit: f.limit });
      if (f.json) return printJson(r);
      out(table(['DELETED', 'TASK', 'NAME', 'LAST STATUS', 'INSTANCE', 'BY', 'MESSAGE'],
        r.audits.map((a) => [when(a.deleted_at), a.task_id, a.task_name, a.last_status, a.instance_id, a.user_name, a.message])));
      out(pageLine('dcs-tasks audit list', f.limit !== undefined ? [`--limit ${f.limit}`] : [], f.offset ?? 0, r.audits.length, Number(r.count), 'records'));
    }));
}
