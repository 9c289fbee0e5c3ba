/**
 * Client commands of the `dcs-tasks` CLI (tasks, centre, instances, token, records). They talk to a
 * running service through the typed client only (src/client), never to the store directly.
 */
import type { Command } from 'commander';
import { registerCentreCommands } from './centre-commands.js';
import { registerInstanceCommands } from './instances-commands.js';
import { registerMigrationCommands } from './migrations-commands.js';
import { registerTaskCommands } from './tasks-commands.js';
import { registerTokenCommands } from './token-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerConfigureCommand } from './configure-commands.js';
import { exitQuietlyOnClosedPipe, usageExit } from './output.js';
import { registerRecordCommands } from './records-commands.js';

export function registerClientCommands(program: Command): void {
  exitQuietlyOnClosedPipe();
  // Bare `dcs-tasks`, an unknown command, a bad flag: help or the error, and exit 2.
  program.exitOverride(usageExit);
  registerTaskCommands(program);
  registerCentreCommands(program);
  registerInstanceCommands(program);
  registerAuditCommands(program);
  registerTokenCommands(program);
  registerMigrationCommands(program);
  registerConfigureCommand(program);
  registerRecordCommands(program);
}
