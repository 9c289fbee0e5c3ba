/** `dcs-tasks centre …`: the task centre, every task of the project. */
import type { Command } from 'commander';
import { clientCommand, connect, group, type ConnectionFlags } from './connection.js';
import { action, out, printJson, table, when } from './output.js';
import { window } from './tasks-commands.js';
import { pageLine, windowFlags, windowOptions, type WindowFlags } from './window.js';

export function registerCentreCommands(program: Command): void {
  const centre = group(program, 'centre', 'the task centre: every task of the project', 'dcs-tasks centre list --limit 20');

  windowOptions(clientCommand(centre, 'list', 'list the tasks of the project, newest first',
    'dcs-tasks centre list --limit 20 --start-time 2026-11-25T00:00:00Z'))
    .action(action(async (f: ConnectionFlags & WindowFlags) => {
      const r = await connect(f).listCentreTasks(window(f));
      if (f.json) return printJson(r);
      out(table(['ID', 'NAME', 'STATUS', 'INSTANCE', 'CREATED', 'ERROR'],
        r.tasks.map((t) => [t.id, t.name, t.status, t.instance_name, when(t.created_at), t.error_code ?? ''])));
      out(pageLine('dcs-tasks centre list', windowFlags(f), f.offset ?? 0, r.tasks.length, Number(r.task_count)));
    }));

  clientCommand(centre, 'delete <task_id>', 'delete a finished task (the reason goes to the audit record)',
    'dcs-tasks centre delete 8abf6e1e72c12e7c0172c15b508500aa --message "failed resize, cleaned up"')
    .option('--message <text>', 'why it is deleted (kept in the audit record)')
    .action(action(async (taskId: string, f: ConnectionFlags & { message?: string }) => {
      const r = await connect(f).deleteCentreTask(taskId, f.message);
      if (f.json) return printJson(r);
      out(`deleted task ${taskId}`);
    }));
}
