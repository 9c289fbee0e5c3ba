/**
 * Client commands of the `dcs-tasks` CLI (tasks, centre, instances, token, records). They talk to a
 * running service through the typed client only (src/client), never to the store directly.
 */
import type { Command } from 'commander';
import { registerCentreCommands } from './centre-commands.js';
import { registerInstanceCommands } from './instances-commands.js';
import { registerTaskCommands } from './tasks-commands.js';
import { registerTokenCommands } from './token-commands.js';
import { registerRecordCommands } from './records-commands.js';

export function registerClientCommands(program: Command): void {
  registerTaskCommands(program);
  registerCentreCommands(program);
  registerInstanceCommands(program);
  registerTokenCommands(program);
  registerRecordCommands(program);
}
