/** Runs the real `dcs-tasks` binary (node dist/src/cli.js) against a test service. */
import { runCli, type Service, type TestCredential } from './service.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Every run's output, so a test can check that no secret key was ever printed. */
export const transcript: string[] = [];

/** Credentials and endpoint come from the environment, as a user would set them. */
export function cliEnv(svc: Service, cred: TestCredential): Record<string, string> {
  return {
    DCS_ENDPOINT: svc.url, DCS_PROJECT_ID: cred.project_id, CLOUD_SDK_AK: cred.access_key, CLOUD_SDK_SK: cred.secret_key,
    DCS_AUTH_TOKEN: '', DCS_INSTANCE_PASSWORD: '',
  };
}

export async function cli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliRun> {
  const r = await runCli(args, env, timeoutMs);
  transcript.push(r.stdout, r.stderr);
  return r;
}

export const json = (r: CliRun) => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
};

/** The CLI's API error line: `DCS.xxxx: message (request id <32 hex>)`. */
export const API_ERROR_LINE = (code: string) => new RegExp(`^${code.replace('.', '\\.')}: .+ \\(request id [0-9a-f]{32}\\)$`, 'm');
