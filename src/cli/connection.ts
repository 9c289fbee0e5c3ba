/**
 * Endpoint, project and credentials of a client command: flags first, then environment
 * variables (CLOUD_SDK_AK / CLOUD_SDK_SK as the Huawei Cloud SDKs name them). The secret key is
 * read, never echoed: it is not a commander default (help would show it) and no message
 * contains it.
 */
import { Command, InvalidArgumentError } from 'commander';
import { DcsTasksClient } from '../client/index.js';
import { UsageError, usageExit } from './output.js';
import { selectedProfile } from './profiles.js';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8080';

export interface ConnectionFlags {
  endpoint?: string;
  projectId?: string;
  ak?: string;
  sk?: string;
  token?: string;
  anonymous?: boolean;
  requestTimeout?: number;
  json?: boolean;
  profile?: string;
}

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `a whole number of at least ${min} is expected.` : `an integer from ${min} to ${max} is expected.`);
    }
    return n;
  };
}

/**
 * A leaf command of the client CLI: connection flags, --json, exit code 2 for usage errors,
 * and an example at the end of its --help.
 */
export function clientCommand(parent: Command, nameAndArgs: string, description: string, example: string): Command {
  return withExample(parent.command(nameAndArgs).description(description), example)
    .option('--profile <name>', 'connection profile written by dcs-tasks configure (DCS_PROFILE, default "default")')
    .option('--endpoint <url>', `service URL (DCS_ENDPOINT, default ${DEFAULT_ENDPOINT})`)
    .option('--project-id <id>', 'project id (DCS_PROJECT_ID)')
    .option('--ak <access-key>', 'access key (CLOUD_SDK_AK)')
    .option('--sk <secret-key>', 'secret key (CLOUD_SDK_SK; prefer the variable, flags show in ps)')
    .option('--token <token>', 'X-Auth-Token instead of AK/SK (DCS_AUTH_TOKEN)')
    .option('--anonymous', 'send no credentials (a service started with --no-auth)')
    .option('--request-timeout <ms>', 'per-request timeout in ms (default 30000)', intArg(1))
    .option('--json', 'print JSON instead of tables')
    .exitOverride(usageExit);
}

/** A command group (tasks, centre, …): without a subcommand it prints help and exits 2. */
export function group(program: Command, name: string, description: string, example: string): Command {
  return withExample(program.command(name).description(description), example).exitOverride(usageExit);
}

/** An example at the end of a command's --help. */
export function withExample(cmd: Command, example: string): Command {
  return cmd.addHelpText('after', `\nExample:\n  $ ${example}\n`);
}

const env = (name: string): string | undefined => {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
};

export function connect(f: ConnectionFlags): DcsTasksClient {
  // A profile asked for by name is read at once; the default one only for a setting that flags
  // and environment leave open, so a broken profiles file does not stop a command that needs none.
  let selected = f.profile !== undefined || env('DCS_PROFILE') !== undefined ? selectedProfile(f.profile) : undefined;
  const profile = () => (selected ??= selectedProfile(undefined));
  const endpoint = f.endpoint ?? env('DCS_ENDPOINT') ?? profile().endpoint ?? DEFAULT_ENDPOINT;
  const projectId = f.projectId ?? env('DCS_PROJECT_ID') ?? profile().project_id;
  if (!projectId) throw new UsageError('no project id: set DCS_PROJECT_ID, pass --project-id, or run dcs-tasks configure.');
  const common = { endpoint, projectId, timeoutMs: f.requestTimeout };
  if (f.anonymous) return new DcsTasksClient(common);
  // Flags win over the environment, the environment over the profile; at one level, AK/SK win over a token.
  if (f.ak !== undefined || f.sk !== undefined) return withKeys(common, f.ak ?? env('CLOUD_SDK_AK'), f.sk ?? env('CLOUD_SDK_SK'));
  if (f.token !== undefined) return new DcsTasksClient({ ...common, token: f.token });
  if (env('CLOUD_SDK_AK') !== undefined || env('CLOUD_SDK_SK') !== undefined) return withKeys(common, env('CLOUD_SDK_AK'), env('CLOUD_SDK_SK'));
  const token = env('DCS_AUTH_TOKEN');
  if (token !== undefined) return new DcsTasksClient({ ...common, token });
  if (profile().access_key !== undefined || profile().secret_key !== undefined) return withKeys(common, profile().access_key, profile().secret_key);
  throw new UsageError('no credentials: set CLOUD_SDK_AK and CLOUD_SDK_SK (or DCS_AUTH_TOKEN), pass --ak/--sk, --token or --anonymous, or run dcs-tasks configure.');
}

function withKeys(common: { endpoint: string; projectId: string; timeoutMs?: number }, accessKey?: string, secretKey?: string) {
  if (!accessKey) throw new UsageError('a secret key without an access key: set CLOUD_SDK_AK or pass --ak.');
  if (!secretKey) throw new UsageError('an access key without a secret key: set CLOUD_SDK_SK or pass --sk.');
  return new DcsTasksClient({ ...common, accessKey, secretKey });
}
