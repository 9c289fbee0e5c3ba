/** `dcs-tasks centre …`: the task centre, every task of the project. */
import type { Command } from 'commander';
import { clientCommand, connect, group, type ConnectionFlags } from './connection.js';
import { action, out, printJson, table, when } from './output.js';
import { window } from './tasks-commands.js';
import { windowOptions, type WindowFlags } from './window.js';

export function registerCentreCommands(program: Command): void {
  const centre = group(program, 'centre', 'the task centre: every task of the project');

  windowOptions(clientCommand(centre, 'list', 'list the tasks of the project, newest first'))
    .action(action(async (f: ConnectionFlags & WindowFlags) => {
      const r = await connect(f).listCentreTasks(window(f));
      if (f.json) return printJson(r);
      out(table(['ID', 'NAME', 'STATUS', 'INSTANCE', 'CREATED', 'ERROR'],
        r.tasks.map((t) => [t.id, t.name, t.status, t.instance_name, when(t.created_at), t.error_code ?? ''])));
      out(`${r.tasks.length} of ${r.task_count} tasks`);
    }));

  clientCommand(centre, 'delete <task_id>', 'delete a finished task (the reason goes to the audit record)')
    .option('--message <text>', 'why it is deleted (kept in the audit record)')
    .action(action(async (taskId: string, f: ConnectionFlags & { message?: string }) => {
      const r = await connect(f).deleteCentreTask(taskId, f.message);
      if (f.json) return printJson(r);
      out(`deleted task ${taskId}`);
    }));
}
