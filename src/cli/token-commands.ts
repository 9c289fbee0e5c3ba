/** `dcs-tasks token create`: a token for X-Auth-Token (DCS_AUTH_TOKEN), signed with the AK/SK. */
import type { Command } from 'commander';
import { clientCommand, connect, group, intArg, type ConnectionFlags } from './connection.js';
import { action, out, printJson } from './output.js';

export function registerTokenCommands(program: Command): void {
  const token = group(program, 'token', 'tokens for X-Auth-Token', 'dcs-tasks token create --ttl 3600');
  clientCommand(token, 'create', 'issue a token for the AK/SK credential (shown once)',
    'export DCS_AUTH_TOKEN=$(dcs-tasks token create --ttl 3600)')
    .requiredOption('--ttl <seconds>', 'lifetime, 60 to 604800 seconds', intArg(60, 604_800))
    .action(action(async (f: ConnectionFlags & { ttl: number }) => {
      const t = await connect(f).createToken(f.ttl);
      if (f.json) return printJson(t);
      out(t.token);
      process.stderr.write(`expires at ${t.expires_at}; use it as DCS_AUTH_TOKEN or --token\n`);
    }));
}
