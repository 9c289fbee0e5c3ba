/** Client commands of the `dcs-tasks` CLI (tasks, centre, instances, token). */
import type { Command } from 'commander';

export function registerClientCommands(_program: Command): void {}
