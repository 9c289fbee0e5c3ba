/**
 * `dcs-tasks instances password|config|resize|replica|swap|port`: the operations that start a
 * background task on one instance. Each prints the task it started (and how to follow it), or
 * with --wait follows it to its end like `tasks wait` (exit 4 if it FAILED).
 */
import type { Command } from 'commander';
import type { DcsTasksClient, RedisConfigChange } from '../client/index.js';
import { clientCommand, connect, group, intArg, type ConnectionFlags } from './connection.js';
import { UsageError, action, out, printJson, table } from './output.js';
import { follow } from './progress.js';

interface WaitFlags extends ConnectionFlags {
  wait?: boolean;
  interval?: number;
}

function waitable(cmd: Command): Command {
  return cmd
    .option('--wait', 'follow the task to its end (exit 4 if it FAILED)')
    .option('--interval <ms>', 'poll interval with --wait (default 1000)', intArg(50));
}

/**
 * The task an operation just started when the API does not answer its id (password, configs,
 * port): the instance's unfinished task of that name (at most one task per instance runs), else
 * its newest one of that name (it may already have finished).
 */
async function startedTask(c: DcsTasksClient, instanceId: string, taskName: string): Promise<string> {
  const { tasks } = await c.listTasks(instanceId, { limit: 100 });
  const ofName = tasks.filter((t) => t.name === taskName);
  const t = ofName.find((x) => x.status !== 'SUCCESS' && x.status !== 'FAILED') ?? ofName[0];
  if (!t) throw new Error(`the ${taskName} task of instance ${instanceId} was not found`);
  return t.id;
}

/** Prints the started task, or follows it with --wait. `answer` is the API's own reply (--json). */
async function started(c: DcsTasksClient, f: WaitFlags, instanceId: string, taskName: string, taskId: string, answer: object = {}): Promise<void> {
  if (f.wait) {
    await follow(c, taskId, { instanceId, intervalMs: f.interval, json: f.json });
    return;
  }
  if (f.json) return printJson({ ...answer, job_id: taskId, task_name: taskName });
  out(`started task ${taskId} (${taskName}) on instance ${instanceId}; follow it with: dcs-tasks tasks wait ${taskId}`);
}

const secret = (flag: string | undefined, variable: string): string | undefined =>
  flag ?? (process.env[variable] ? process.env[variable] : undefined);

export function registerOperationCommands(instances: Command): void {
  waitable(clientCommand(instances, 'password <instance_id>', 'change the instance password (task modify)',
    "DCS_OLD_INSTANCE_PASSWORD='Old#Pass1' DCS_INSTANCE_PASSWORD='N3w#Pass22' dcs-tasks instances password <instance_id> --wait"))
    .option('--new-password <password>', 'the new password (DCS_INSTANCE_PASSWORD; prefer the variable, flags show in ps)')
    .option('--old-password <password>', 'the current password, if one is set (DCS_OLD_INSTANCE_PASSWORD)')
    .action(action(async (id: string, f: WaitFlags & { newPassword?: string; oldPassword?: string }) => {
      const newPassword = secret(f.newPassword, 'DCS_INSTANCE_PASSWORD');
      if (!newPassword) throw new UsageError('a new password is needed: set DCS_INSTANCE_PASSWORD or pass --new-password.');
      const c = connect(f);
      const r = await c.changePassword(id, { old_password: secret(f.oldPassword, 'DCS_OLD_INSTANCE_PASSWORD') ?? null, new_password: newPassword });
      await started(c, f, id, 'modify', await startedTask(c, id, 'modify'), r);
    }));

  const config = group(instances, 'config', 'Redis configuration parameters of an instance', 'dcs-tasks instances config set <instance_id> timeout=300');
  clientCommand(config, 'list <instance_id>', 'the instance parameters and their values in Redis now', 'dcs-tasks instances config list <instance_id>')
    .action(action(async (id: string, f: ConnectionFlags) => {
      const r = await connect(f).getConfigurations(id);
      if (f.json) return printJson(r);
      out(table(['ID', 'PARAMETER', 'VALUE', 'DEFAULT', 'RANGE'],
        r.redis_config.map((p) => [p.param_id, p.param_name, p.param_value, p.default_value, p.value_range])));
    }));
  waitable(clientCommand(config, 'set <instance_id> <name=value...>', 'change configuration parameters (task modifyConfigs; CONFIG SET on every node)',
    'dcs-tasks instances config set <instance_id> maxmemory-policy=allkeys-lru timeout=300 --wait'))
    .action(action(async (id: string, pairs: string[], f: WaitFlags) => {
      const changes = pairs.map(configPair);
      const c = connect(f);
      await c.modifyConfigs(id, changes);
      await started(c, f, id, 'modifyConfigs', await startedTask(c, id, 'modifyConfigs'));
    }));

  waitable(clientCommand(instances, 'resize <instance_id>', 'change the capacity (task EXTEND; sets maxmemory on every node)',
    'dcs-tasks instances resize <instance_id> --capacity 0.25 --wait'))
    .requiredOption('--capacity <gb>', 'the new capacity in GB, e.g. 0.25')
    .action(action(async (id: string, f: WaitFlags & { capacity: string }) => {
      const capacity = Number(f.capacity);
      if (!(capacity > 0)) throw new UsageError('--capacity must be a positive number of GB, e.g. 0.25.');
      const c = connect(f);
      const r = await c.resizeInstance(id, { new_capacity: capacity });
      await started(c, f, id, 'EXTEND', r.job_id, r);
    }));

  const replica = group(instances, 'replica', 'replicas of an instance', 'dcs-tasks instances replica add <instance_id> --wait');
  waitable(clientCommand(replica, 'add <instance_id>', 'add replicas (task AddReplica; a replica redis-server follows the master)',
    'dcs-tasks instances replica add <instance_id> --count 1 --wait'))
    .option('--count <n>', 'how many replicas to add (default 1)', intArg(1, 5))
    .action(action(async (id: string, f: WaitFlags & { count?: number }) => {
      const c = connect(f);
      const r = await c.resizeInstance(id, { change_type: 'createReplication', ...(f.count !== undefined ? { replica_num: f.count } : {}) });
      await started(c, f, id, 'AddReplica', r.job_id, r);
    }));
  waitable(clientCommand(replica, 'remove <instance_id> <node...>', 'remove replica nodes (task DelReplica); node names as `instances show` lists them',
    'dcs-tasks instances replica remove <instance_id> node-1 --wait'))
    .action(action(async (id: string, nodes: string[], f: WaitFlags) => {
      const c = connect(f);
      const r = await c.resizeInstance(id, { change_type: 'deleteReplication', node_list: nodes });
      await started(c, f, id, 'DelReplica', r.job_id, r);
    }));

  waitable(clientCommand(instances, 'swap <instance_id>', 'master/standby switchover (task masterStandbySwapJob; needs a replica)',
    'dcs-tasks instances swap <instance_id> --wait'))
    .action(action(async (id: string, f: WaitFlags) => {
      const c = connect(f);
      const r = await c.swapInstance(id);
      await started(c, f, id, 'masterStandbySwapJob', r.job_id, r);
    }));

  waitable(clientCommand(instances, 'port <instance_id> <port>', 'move the instance to another port (task UpdatePort)',
    'dcs-tasks instances port <instance_id> 6390 --wait'))
    .action(action(async (id: string, port: string, f: WaitFlags) => {
      // A positional argument commander does not parse: its error names it, as commander's do.
      let p: number;
      try {
        p = intArg(1024, 65535)(port);
      } catch (e) {
        throw new UsageError(`argument <port> "${port}": ${(e as Error).message}`);
      }
      const c = connect(f);
      // The service starts no task for the port the instance is on: say so, rather than take
      // an older UpdatePort for the one this command started.
      if ((await c.getInstance(id)).port === p) {
        if (f.json) return printJson({ instance_id: id, port: p, job_id: null });
        return out(`instance ${id} is on port ${p} already: nothing to change`);
      }
      await c.modifyInstance(id, { port: p });
      await started(c, f, id, 'UpdatePort', await startedTask(c, id, 'UpdatePort'));
    }));
}

/** "maxmemory-policy=allkeys-lru" → a redis_config entry. */
function configPair(pair: string): RedisConfigChange {
  const at = pair.indexOf('=');
  if (at <= 0) throw new UsageError(`"${pair}" is not name=value, e.g. maxmemory-policy=allkeys-lru.`);
  return { param_name: pair.slice(0, at), param_value: pair.slice(at + 1) };
}
