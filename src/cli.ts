#!/usr/bin/env node
/** The `dcs-tasks` command. `serve` runs the service; client commands come with the CLI issue. */
import { Command } from 'commander';
import { ConfigError, DEFAULT_LIMITS, resolveServeConfig, type ServeFlags } from './config.js';
import { VERSION } from './version.js';

const program = new Command();
// Commander's own parse errors (an unknown option, a missing value) exit 2, as a bad
// configuration does; the client commands set the same for theirs.
program.exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));
program.name('dcs-tasks').description('DCS-compatible background-task service').version(VERSION)
  .addHelpText('after', `
Example:
  $ dcs-tasks serve                     # the service on 127.0.0.1:8080, SQLite in ./.dcs-tasks
  $ dcs-tasks instances list            # a client command (credentials: dcs-tasks configure)
`);

program
  .command('serve')
  .description('run the service (SQLite in the data directory by default)')
  .option('--host <host>', 'listen address (DCS_HOST; default 127.0.0.1)')
  .option('--port <port>', 'listen port, 0 = any free port (DCS_PORT; default 8080)')
  .option('--data <dir>', 'data directory (DCS_DATA_DIR; default ./.dcs-tasks)')
  .option('--database <url>', 'sqlite:PATH or postgres://… (DCS_DATABASE_URL; default sqlite:<data>/dcs.db)')
  .option('--credentials <file>', 'JSON array of credentials (DCS_CREDENTIALS_FILE; default <data>/credentials.json)')
  .option('--redis-server <bin>', 'redis-server binary for managed instances (DCS_REDIS_SERVER; default redis-server on PATH)')
  .option('--no-auth', 'accept unauthenticated requests; loopback only (DCS_NO_AUTH=1; default off)')
  .option('--log-level <level>', 'pino log level (DCS_LOG_LEVEL; default info)')
  .option('--task-retention-days <days>', 'remove finished tasks older than this (DCS_TASK_RETENTION_DAYS); off by default')
  .option('--instance-quota <n>', `instances per project (DCS_INSTANCE_QUOTA, default ${DEFAULT_LIMITS.instanceQuota})`)
  .option('--headers-timeout <ms>', `time to receive request headers (DCS_HEADERS_TIMEOUT_MS, default ${DEFAULT_LIMITS.headersTimeoutMs})`)
  .option('--request-timeout <ms>', `time to receive a whole request (DCS_REQUEST_TIMEOUT_MS, default ${DEFAULT_LIMITS.requestTimeoutMs})`)
  .option('--keep-alive-timeout <ms>', `idle keep-alive connections close after (DCS_KEEP_ALIVE_TIMEOUT_MS, default ${DEFAULT_LIMITS.keepAliveTimeoutMs})`)
  .option('--max-connections <n>', `open connections at most (DCS_MAX_CONNECTIONS, default ${DEFAULT_LIMITS.maxConnections})`)
  .addHelpText('after', `
Environment only: DCS_STEP_DELAY_MS (a pause before every task step, default 0, to watch
EXECUTING -> SUCCESS), DCS_LEASE_MS (task lease, default 15000), DCS_SCHEDULER_TICK_MS (how
often automatic backups and scans are looked for at most, default 30000).

Example:
  $ dcs-tasks serve --port 8081 --data ./.dcs-tasks-2
`)
  .action(async (flags: ServeFlags) => {
    try {
      // Text for the person at the terminal (the first credential) goes to stderr: stdout carries
      // the JSON log stream, which often ends up in a log store.
      const { startService } = await import('./server.js');
      const service = await startService(resolveServeConfig(flags), (line) => process.stderr.write(`${line}\n`));
      let signalled = false;
      const shutdown = () => {
        if (signalled) return;
        signalled = true;
        service.stop().then(() => process.exit(0), () => process.exit(1));
      };
      // Handlers first: whoever reads the line below may send SIGTERM at once.
      process.on('SIGTERM', shutdown);
      process.on('SIGINT', shutdown);
      console.log(`listening on ${service.url}`);
    } catch (e) {
      if (e instanceof ConfigError) {
        console.error(`dcs-tasks: ${e.message}`);
        process.exit(2);
      }
      console.error(`dcs-tasks: failed to start: ${(e as Error).message}`);
      process.exit(1);
    }
  });

// Each side loads only its own modules: the client commands are a tenth of the service's start.
if (process.argv[2] !== 'serve') (await import('./cli/client-commands.js')).registerClientCommands(program);

await program.parseAsync(process.argv);
