/** `dcs-tasks tasks …`: an instance's background tasks, one task, its progress, waiting for it. */
import type { Command } from 'commander';
import { findCentreTask, type DcsTasksClient, type TaskQuery } from '../client/index.js';
import { clientCommand, connect, group, intArg, type ConnectionFlags } from './connection.js';
import { UsageError, action, fields, out, printJson, table, when, whenMs } from './output.js';
import { follow } from './progress.js';
import { pageLine, windowFlags, windowOptions, type WindowFlags } from './window.js';

export function registerTaskCommands(program: Command): void {
  const tasks = group(program, 'tasks', "an instance's background tasks", 'dcs-tasks tasks list <instance_id>');

  windowOptions(clientCommand(tasks, 'list <instance_id>', "list an instance's tasks, newest first",
    'dcs-tasks tasks list <instance_id> --offset 10 --limit 10'))
    .action(action(async (instanceId: string, f: ConnectionFlags & WindowFlags) => {
      const r = await connect(f).listTasks(instanceId, window(f));
      if (f.json) return printJson(r);
      out(table(['ID', 'NAME', 'STATUS', 'CREATED', 'USER'], r.tasks.map((t) => [t.id, t.name, t.status, when(t.created_at), t.user_name])));
      out(pageLine(`dcs-tasks tasks list ${instanceId}`, windowFlags(f), f.offset ?? 0, r.tasks.length, Number(r.task_count)));
    }));

  clientCommand(tasks, 'show <task_id>', 'show one task: status, instance, failure reason, steps', 'dcs-tasks tasks show <task_id>')
    .action(action(async (taskId: string, f: ConnectionFlags) => {
      const c = connect(f);
      const job = await c.getJob(taskId); // 404 DCS.4001 when there is no such task
      const task = await findCentreTask(c, taskId);
      const progress = task ? await c.getTaskProgress(task.instance_id, taskId).catch(() => null) : null;
      if (f.json) return printJson({ task: task ?? null, job, progress });
      out(fields([
        ['id', taskId], ['name', job.job_type], ['status', task?.status ?? job.status],
        ['instance', task ? `${task.instance_id} (${task.instance_name})` : null], ['user', task?.user_name],
        ['created', when(task?.created_at)], ['began', whenMs(job.begin_time)], ['ended', whenMs(job.end_time)],
        ['error code', task?.error_code], ['fail reason', job.fail_reason],
        ['params', task?.params], ['details', task ? JSON.stringify(task.details) : null],
      ]));
      if (progress) printSteps(progress.step_details);
    }));

  clientCommand(tasks, 'progress <instance_id> <task_id>', "a task's progress and steps", 'dcs-tasks tasks progress <instance_id> <task_id>')
    .action(action(async (instanceId: string, taskId: string, f: ConnectionFlags) => {
      const p = await connect(f).getTaskProgress(instanceId, taskId);
      if (f.json) return printJson(p);
      out(`${p.progress}%${p.remain_time > 0 ? `, about ${p.remain_time}s left` : ''}`);
      printSteps(p.step_details);
    }));

  clientCommand(tasks, 'delete <instance_id> <task_id>', 'delete a finished task', 'dcs-tasks tasks delete <instance_id> <task_id>')
    .action(action(async (instanceId: string, taskId: string, f: ConnectionFlags) => {
      const r = await connect(f).deleteTask(instanceId, taskId);
      if (f.json) return printJson(r);
      out(`deleted task ${taskId}`);
    }));

  clientCommand(tasks, 'wait <task_id>', 'wait until a task finishes; exit 4 if it FAILED',
    'dcs-tasks tasks wait <task_id> --timeout 600 || echo "exit $?"')
    .option('--instance <instance_id>', "the task's instance (found in the task centre when omitted)")
    .option('--interval <ms>', 'poll interval (default 1000)', intArg(50))
    .option('--timeout <seconds>', 'give up after this long (exit 5)', intArg(1))
    .action(action(async (taskId: string, f: ConnectionFlags & { instance?: string; interval?: number; timeout?: number }) => {
      // Followed through the jobs route, whose refusal would speak of a job id.
      if (!/^[0-9a-f]{32}$/.test(taskId)) throw new UsageError(`${taskId} is not a task id: 32 lowercase hex characters, as "tasks list" and "centre list" show.`);
      const c = connect(f);
      await follow(c, taskId, {
        instanceId: f.instance ?? (await instanceOf(c, taskId)), intervalMs: f.interval,
        timeoutMs: f.timeout === undefined ? undefined : f.timeout * 1000, json: f.json,
      });
    }));
}

async function instanceOf(c: DcsTasksClient, taskId: string): Promise<string | undefined> {
  return (await findCentreTask(c, taskId))?.instance_id;
}

export function window(f: WindowFlags): TaskQuery {
  // Both are yyyyMMddHHmmss here (timeArg), so they compare as strings.
  if (f.startTime !== undefined && f.endTime !== undefined && f.endTime < f.startTime) {
    throw new UsageError(`--end-time (${f.endTime}) is before --start-time (${f.startTime}).`);
  }
  return { offset: f.offset, limit: f.limit, start_time: f.startTime, end_time: f.endTime };
}

function printSteps(steps: { step_id: string; step_name: string; step_status: string; begin_time: string | null; end_time: string | null; error_code: string | null }[]): void {
  if (steps.length === 0) return;
  out('');
  out(table(['#', 'STEP', 'STATUS', 'BEGIN', 'END', 'ERROR'],
    steps.map((s) => [s.step_id, s.step_name, s.step_status, when(s.begin_time), when(s.end_time), s.error_code ?? ''])));
}

