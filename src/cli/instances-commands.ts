/** `dcs-tasks instances …`: create, read and delete instances, restart and flush them. */
import type { Command } from 'commander';
import type { CreateInstanceRequest, DcsTasksClient, EngineVersion, InstanceAction, InstanceActionResult, Job } from '../client/index.js';
import { clientCommand, connect, group, intArg, type ConnectionFlags } from './connection.js';
import { EXIT, ExitWith, UsageError, action, err, fields, out, printJson, table, when } from './output.js';
import { follow, printOutcome } from './progress.js';
import { registerOperationCommands } from './operations-commands.js';
import { pageLine, repeated } from './window.js';

interface CreateFlags extends ConnectionFlags {
  name: string;
  capacity: string;
  engineVersion: string;
  password?: string;
  noPassword?: boolean;
  port?: number;
  redisUrl?: string;
  specCode?: string;
  description?: string;
  wait?: boolean;
}

export function registerInstanceCommands(program: Command): void {
  const instances = group(program, 'instances', 'Redis instances', 'dcs-tasks instances flush <instance_id> --wait');

  clientCommand(instances, 'list', 'list the instances of the project', 'dcs-tasks instances list --status RUNNING --json')
    .option('--name <text>', 'names containing this text')
    .option('--status <status>', 'only this status (RUNNING, ERROR, …; CREATEFAILED lists failed creations)')
    .option('--include-failure', 'list instances whose creation failed (CREATEFAILED) too')
    .option('--offset <n>', 'skip this many', intArg(0, 2_000_000_000))
    .option('--limit <n>', 'at most this many (1-1000, default 10)', intArg(1, 1000))
    .action(action(async (f: ConnectionFlags & { name?: string; status?: string; offset?: number; limit?: number; includeFailure?: boolean }) => {
      // The API leaves CREATEFAILED instances out unless include_failure=true, a status filter included.
      const includeFailure = f.includeFailure || f.status === 'CREATEFAILED' ? true : undefined;
      const r = await connect(f).listInstances({ name: f.name, status: f.status, offset: f.offset, limit: f.limit, include_failure: includeFailure });
      if (f.json) return printJson(r);
      out(table(['ID', 'NAME', 'STATUS', 'ADDRESS', 'CAPACITY', 'VERSION', 'NODES', 'TASK'],
        r.instances.map((i) => [i.instance_id, i.name, i.status, `${i.ip}:${i.port}`, `${i.capacity_minor || i.capacity} GB`,
          i.engine_version, String(i.replica_count), i.task?.name ?? '-'])));
      out(pageLine('dcs-tasks instances list', [...repeated({ '--name': f.name, '--status': f.status, '--limit': f.limit }), ...(f.includeFailure ? ['--include-failure'] : [])],
        f.offset ?? 0, r.instances.length, r.instance_num, 'instances'));
    }));

  clientCommand(instances, 'create', 'create a managed redis-server (or attach one with --redis-url)',
    "DCS_INSTANCE_PASSWORD='Str0ng#Pass' dcs-tasks instances create --name cache1 --capacity 0.125 --wait")
    .requiredOption('--name <name>', '4-64 characters, starts with a letter')
    .requiredOption('--capacity <gb>', 'capacity in GB (sets maxmemory), e.g. 0.125')
    .option('--engine-version <v>', '4.0, 5.0, 6.0 or 7.0', '7.0')
    .option('--password <password>', 'instance password (DCS_INSTANCE_PASSWORD; prefer the variable)')
    .option('--no-password', 'no password (no_password_access)')
    .option('--port <port>', 'port of the managed redis-server', intArg(1024, 65535))
    .option('--redis-url <url>', 'attach an existing Redis instead of starting one')
    .option('--spec-code <code>', 'DCS spec code, recorded')
    .option('--description <text>', 'description')
    .option('--wait', 'wait until the instance is RUNNING')
    .action(action(async (f: CreateFlags) => {
      const c = connect(f);
      const r = await c.createInstance(createBody(f));
      const created = r.instances[0]!;
      if (f.wait) await untilRunning(c, created.instance_id);
      if (f.json) return printJson(r);
      out(`created instance ${created.instance_id} (${created.instance_name})`);
    }));

  clientCommand(instances, 'show <instance_id>', 'show an instance and its nodes', 'dcs-tasks instances show <instance_id>')
    .action(action(async (id: string, f: ConnectionFlags) => {
      const i = await connect(f).getInstance(id);
      if (f.json) return printJson(i);
      out(fields([
        ['id', i.instance_id], ['name', i.name], ['status', i.status], ['engine', `${i.engine} ${i.engine_version}`],
        ['address', `${i.ip}:${i.port}`], ['capacity', `${i.capacity_minor || i.capacity} GB (maxmemory ${i.max_memory} MB)`], ['task', i.task ? `${i.task.name} ${i.task.status} (${i.task.id})` : '-'],
        ['password', i.no_password_access === 'true' ? 'none' : 'set'], ['attached', i.attached],
        ['spec code', i.spec_code], ['description', i.description], ['created', when(i.created_at)],
      ]));
      if (i.nodes.length > 0) {
        out('');
        out(table(['NODE', 'PORT', 'ROLE'], i.nodes.map((n) => [n.name, String(n.port), n.role])));
      }
    }));

  clientCommand(instances, 'delete <instance_id>', 'delete an instance (stops its Redis; its finished tasks stay in the centre)',
    'dcs-tasks instances delete <instance_id>')
    .action(action(async (id: string, f: ConnectionFlags) => {
      await connect(f).deleteInstance(id);
      if (f.json) return printJson({ instance_id: id, deleted: true });
      out(`deleted instance ${id}`);
    }));

  operation(instances, 'restart', 'restart instances (task restartInstance; --soft: softRestartInstance)', (f) => (f.soft ? 'soft_restart' : 'restart'))
    .option('--soft', 'restart only the process (soft_restart)');
  operation(instances, 'flush', 'flush all data of instances (task flushInstance)', () => 'flush');
  registerOperationCommands(instances);
}

/** restart / flush: one task per instance; --wait follows each; a refused instance → exit 1. */
function operation(parent: Command, name: string, description: string, actionOf: (f: { soft?: boolean }) => InstanceAction): Command {
  return clientCommand(parent, `${name} <instance_id...>`, description, `dcs-tasks instances ${name} <instance_id> --wait`)
    .option('--wait', 'wait for the tasks to finish (exit 4 if one FAILED)')
    .option('--interval <ms>', 'poll interval with --wait (default 1000)', intArg(50))
    .action(action(async (ids: string[], f: ConnectionFlags & { soft?: boolean; wait?: boolean; interval?: number }) => {
      const c = connect(f);
      const act = actionOf(f);
      const r = await c.changeInstancesStatus(ids, act);
      if (!f.json) out(table(['INSTANCE', 'RESULT'], r.results.map((x) => [x.instance, x.result])));
      const refused = r.results.filter((x) => x.result !== 'success');
      for (const x of refused) err(`dcs-tasks: ${act} was refused for instance ${x.instance}`);
      const jobs = f.wait ? await followAll(c, r, f) : undefined;
      // Without --wait, the tasks started and how to follow them (the answer names none).
      const startedTasks = f.wait ? undefined : await Promise.all(r.results.filter((x) => x.result === 'success').map(async (x) => {
        const t = await startedTaskOf(c, x.instance);
        if (!f.json) out(`started task ${t.id} (${t.name}) on instance ${x.instance}; follow it with: dcs-tasks tasks wait ${t.id}`);
        return { instance: x.instance, task_id: t.id, task_name: t.name };
      }));
      // One JSON document: the API's answer, plus the tasks started (or, with --wait, the finished jobs).
      if (f.json) printJson(jobs ? { ...r, jobs } : { ...r, tasks: startedTasks });
      if (jobs?.some((j) => j.status === 'FAIL')) throw new ExitWith(EXIT.taskFailed);
      if (refused.length > 0) throw new ExitWith(EXIT.api);
    }));
}

/**
 * The status route answers per instance, not per task: the started task is the one the instance
 * shows as running (its `task`, set with the request), or, once that has ended, its newest task.
 */
async function startedTaskOf(c: DcsTasksClient, instanceId: string): Promise<{ id: string; name: string }> {
  const t = (await c.getInstance(instanceId)).task ?? (await c.listTasks(instanceId, { limit: 1 })).tasks[0];
  if (!t) throw new Error(`the task started on ${instanceId} was not found`);
  return t;
}

async function followAll(c: DcsTasksClient, r: InstanceActionResult, f: { json?: boolean; interval?: number }): Promise<Job[]> {
  const jobs: Job[] = [];
  for (const x of r.results.filter((y) => y.result === 'success')) {
    const t = await startedTaskOf(c, x.instance);
    jobs.push(await follow(c, t.id, { instanceId: x.instance, intervalMs: f.interval, print: false }));
    if (!f.json) printOutcome(jobs[jobs.length - 1]!);
  }
  return jobs;
}

function createBody(f: CreateFlags): CreateInstanceRequest {
  const capacity = Number(f.capacity);
  if (!(capacity > 0)) throw new UsageError('--capacity must be a positive number of GB.');
  // commander keeps the last of --password P and --no-password, which contradict each other.
  const args = process.argv.slice(2);
  if (args.includes('--no-password') && args.some((a) => a === '--password' || a.startsWith('--password='))) {
    throw new UsageError('--password and --no-password: one or the other.');
  }
  // commander's --no-password sets password=false; keep only real strings.
  const password = typeof f.password === 'string' ? f.password : process.env.DCS_INSTANCE_PASSWORD || undefined;
  const noPassword = (f.password as unknown) === false;
  if (!noPassword && password === undefined && !f.redisUrl) {
    throw new UsageError('a password is needed: set DCS_INSTANCE_PASSWORD, pass --password, or --no-password.');
  }
  return {
    name: f.name, engine: 'Redis', engine_version: f.engineVersion as EngineVersion, capacity,
    ...(noPassword ? { no_password_access: true } : password !== undefined ? { password } : {}),
    ...(f.port !== undefined ? { port: f.port } : {}),
    ...(f.redisUrl !== undefined ? { redis_url: f.redisUrl } : {}),
    ...(f.specCode !== undefined ? { spec_code: f.specCode } : {}),
    ...(f.description !== undefined ? { description: f.description } : {}),
  };
}

/** Statuses an instance being created does not leave by itself (automation.md §1.1: the provider's failures). */
const FAILED_STATUSES = new Set(['ERROR', 'CREATEFAILED', 'FROZEN']);

/** --wait of a create: until RUNNING; a failed start ends it with the task-failed exit code. */
async function untilRunning(c: DcsTasksClient, id: string): Promise<void> {
  for (;;) {
    const i = await c.getInstance(id);
    if (i.status === 'RUNNING') return;
    if (FAILED_STATUSES.has(i.status)) {
      err(`dcs-tasks: instance ${id} is ${i.status}: it did not start`);
      throw new ExitWith(EXIT.taskFailed);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
