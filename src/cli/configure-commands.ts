/**
 * `dcs-tasks configure [--profile NAME]`: asks for endpoint, project and AK/SK (Enter keeps the
 * value shown in brackets) and writes them to the profiles file, mode 0600. The secret key is
 * never echoed, on a terminal or afterwards. Without a terminal the answers are read line by
 * line from stdin (for scripts: `printf '%s\n' URL PROJECT AK SK | dcs-tasks configure`).
 */
import type { Command } from 'commander';
import readline from 'node:readline';
import { DEFAULT_ENDPOINT } from './connection.js';
import { UsageError, action, out, usageExit } from './output.js';
import { DEFAULT_PROFILE, profilesFile, readProfiles, writeProfiles, type Profile } from './profiles.js';

type Ask = (question: string, hidden?: boolean) => Promise<string>;

/** Questions on a terminal (typing hidden for secrets), or the next line of piped stdin. */
async function asker(): Promise<{ ask: Ask; close(): void }> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const lines = Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
    return { ask: async () => (lines.shift() ?? '').trim(), close: () => {} };
  }
  let muted = false;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // While muted, what is typed is not echoed (the prompt itself is written before muting).
  const write = (rl as unknown as { _writeToOutput(s: string): void });
  const original = write._writeToOutput.bind(rl);
  write._writeToOutput = (s: string) => { if (!muted) original(s); };
  const ask: Ask = (question, hidden = false) => new Promise((resolve) => {
    rl.question(question, (answer) => {
      if (hidden) process.stderr.write('\n');
      muted = false;
      resolve(answer.trim());
    });
    muted = hidden;
  });
  return { ask, close: () => rl.close() };
}

export function registerConfigureCommand(program: Command): void {
  program.command('configure')
    .description('save endpoint, project id and AK/SK as a named profile (a 0600 file)')
    .option('--profile <name>', `the profile to write (default "${DEFAULT_PROFILE}")`)
    .addHelpText('after', `
The file is $DCS_CONFIG_FILE, else $XDG_CONFIG_HOME/dcs-tasks/profiles.json, else
~/.config/dcs-tasks/profiles.json. Commands use the profile named by --profile or DCS_PROFILE,
else "${DEFAULT_PROFILE}"; flags and environment variables still win over it.

Example:
  $ dcs-tasks configure --profile staging
  $ dcs-tasks instances list --profile staging
`)
    .exitOverride(usageExit)
    .action(action(async (f: { profile?: string }) => {
      const name = f.profile ?? DEFAULT_PROFILE;
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new UsageError('a profile name has 1 to 64 letters, digits, ".", "_" or "-".');
      const file = profilesFile();
      const profiles = readProfiles(file);
      const old: Profile = profiles[name] ?? {};
      const { ask, close } = await asker();
      try {
        const endpoint = (await ask(`Endpoint [${old.endpoint ?? DEFAULT_ENDPOINT}]: `)) || old.endpoint || DEFAULT_ENDPOINT;
        try {
          new URL(endpoint);
        } catch {
          throw new UsageError(`the endpoint is not a URL: ${endpoint} (e.g. http://127.0.0.1:8080).`);
        }
        const projectId = (await ask(`Project id [${old.project_id ?? ''}]: `)) || old.project_id;
        const accessKey = (await ask(`Access key [${old.access_key ?? ''}]: `)) || old.access_key;
        const secretKey = (await ask(`Secret key [${old.secret_key ? 'unchanged' : ''}]: `, true)) || old.secret_key;
        if (!projectId) throw new UsageError('a project id is needed.');
        if (Boolean(accessKey) !== Boolean(secretKey)) throw new UsageError('give both an access key and a secret key, or neither.');
        profiles[name] = { endpoint, project_id: projectId, ...(accessKey ? { access_key: accessKey, secret_key: secretKey } : {}) };
        writeProfiles(profiles, file);
        out(`saved profile "${name}" in ${file} (mode 0600)`);
      } finally {
        close();
      }
    }));
}
