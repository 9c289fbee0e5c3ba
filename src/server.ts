/**
 * Wiring: builds the store, the Redis supervisor, the engine, the domain services and the HTTP
 * app from a configuration, brings managed instances back up, and serves.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { ConfigError, DEFAULT_LIMITS, type ServeConfig } from './config.js';
import { sqliteStoreOnThread } from './store/sqlite/thread.js';
import { createHash, randomBytes } from 'node:crypto';
import type { Store } from './store/types.js';
import { RedisSupervisor } from './redis/supervisor.js';
import { TaskEngine } from './engine/engine.js';
import { Maintenance } from './engine/maintenance.js';
import { Errors } from './errors.js';
import { TaskService } from './tasks/service.js';
import { TaskAuditLog } from './tasks/audit.js';
import { InstanceRuntime } from './instances/runtime.js';
import { InstanceService } from './instances/service.js';
import { OPERATIONS } from './operations/registry.js';
import { toEngineOperation } from './operations/operation.js';
import { heldByRestore, putBackAbandonedRestores } from './operations/backup.js';
import { MigrationService } from './migrations/service.js';
import { migrationRun } from './migrations/run.js';
import { sweepImportLeftovers } from './migrations/import.js';
import { Authenticator, type SharedCredentials } from './auth/authenticator.js';
import { CredentialsFileError, ensureCredentialsFile, loadCredentialsFile, type Credential } from './auth/credentials.js';
import { acquireDataDirLock } from './data-lock.js';
import { holdListenPort, listenError } from './listen-port.js';
import { BackupService } from './records/backups.js';
import { DownloadSigner } from './records/links.js';
import { ScanService } from './records/scans.js';
import { AutoscanScheduler } from './records/scheduler.js';
import { VERSION } from './version.js';
import { makeDirs } from './make-dirs.js';

export interface RunningService {
  app: FastifyInstance;
  url: string;
  engine: TaskEngine;
  store: Store;
  stop(): Promise<void>;
}

export async function openStore(c: ServeConfig): Promise<Store> {
  // pg is loaded only for a PostgreSQL database: it is a tenth of the start-up on SQLite.
  const store = c.database.kind === 'postgres'
    ? new (await import('./store/postgres.js')).PostgresStore(c.database.url)
    : sqliteStoreOnThread(c.database.file);
  try {
    await store.migrate();
  } catch (e) {
    await store.close().catch(() => {});
    const what = c.database.kind === 'postgres' ? 'the PostgreSQL database' : c.database.file;
    throw new ConfigError(`cannot open ${what}: ${(e as Error).message}`);
  }
  return store;
}

/** A node keeps its id across restarts (it owns the managed Redis processes it started). */
function nodeIdOf(dataDir: string): string {
  const file = path.join(dataDir, 'node-id');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const id = `node-${randomBytes(6).toString('hex')}`;
    fs.writeFileSync(file, id, { flag: 'wx' });
    return id;
  }
}

/**
 * The data directory holds instance passwords (database, redis.conf) and secret keys: it is
 * 0700 and everything in it 0600. The umask makes every file created later (SQLite's WAL and
 * SHM, credentials, instance directories, and redis-server's own files, which it inherits)
 * private too; what an older version left readable is tightened here.
 */
function prepareDataDir(dir: string): void {
  process.umask(0o077);
  try {
    makeDirs(dir);
    // A file given as the directory is refused before anything is changed (made 0700, say).
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK);
    makePrivate(dir);
  } catch (e) {
    throw new ConfigError(`data directory ${dir} is not usable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Directories 0700, files 0600, below `dir` (symbolic links are left alone, not followed). A
 * redis-server a killed service left running may remove a file meanwhile (an AOF rewrite's
 * temporary file): what is gone needs no mode.
 */
function makePrivate(dir: string): void {
  const gone = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';
  let entries: fs.Dirent[];
  try {
    fs.chmodSync(dir, 0o700);
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (gone(e)) return;
    throw e;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    try {
      if (e.isDirectory()) makePrivate(p);
      else if (e.isFile()) fs.chmodSync(p, 0o600);
    } catch (err) {
      if (!gone(err)) throw err;
    }
  }
}

function loadCredentials(c: ServeConfig, print: (line: string) => void): Credential[] {
  try {
    if (c.credentialsExplicit) {
      const credentials = loadCredentialsFile(c.credentialsFile);
      // It holds secret keys: readable by the service's user only, wherever it is.
      if (fs.statSync(c.credentialsFile).mode & 0o077) fs.chmodSync(c.credentialsFile, 0o600);
      return credentials;
    }
    const { credentials, created } = ensureCredentialsFile(c.credentialsFile);
    if (created) {
      // Printed once, on first start, so a new user can call the API at once; never logged.
      print(`created a first admin credential in ${c.credentialsFile} (mode 0600):`);
      print(`  access_key=${created.access_key}`);
      print(`  secret_key=${created.secret_key}`);
      print(`  project_id=${created.project_id}`);
    }
    return credentials;
  } catch (e) {
    if (e instanceof CredentialsFileError) throw new ConfigError(e.message);
    throw e;
  }
}

/**
 * With a shared database every node publishes its file's credentials there and accepts the
 * others'. A node that joins a database which already has credentials, with no credentials file
 * of its own, creates none: it serves with the shared ones.
 */
async function loadNodeCredentials(c: ServeConfig, store: Store, nodeId: string | null, print: (line: string) => void): Promise<Credential[]> {
  if (c.noAuth) return [];
  const shared = store.sharedCredentials;
  if (!shared || nodeId === null) return loadCredentials(c, print);
  const joining = !c.credentialsExplicit && !fs.existsSync(c.credentialsFile) && (await shared.listCredentials()).length > 0;
  if (joining) {
    print(`using the credentials shared in the database (this node has no ${c.credentialsFile})`);
    return [];
  }
  const own = loadCredentials(c, print);
  await shared.publishCredentials(nodeId, own.map((k) => ({
    accessKey: k.access_key, secretKey: k.secret_key, projectId: k.project_id, userId: k.user_id, userName: k.user_name, role: k.role,
  })));
  return own;
}

function sharedCredentials(store: Store): SharedCredentials | undefined {
  const shared = store.sharedCredentials;
  if (!shared) return undefined;
  return async () => (await shared.listCredentials()).map((k) => ({
    access_key: k.accessKey, secret_key: k.secretKey, project_id: k.projectId, user_id: k.userId, user_name: k.userName, role: k.role,
  }));
}

export async function startService(c: ServeConfig, print: (line: string) => void = console.log, logger?: Logger): Promise<RunningService> {
  const log = logger ?? pino({ level: c.logLevel, base: { service: 'dcs-tasks' } });
  const limits = c.limits ?? DEFAULT_LIMITS;
  prepareDataDir(c.dataDir);
  const releaseLock = acquireDataDirLock(c.dataDir);
  const cleanups: (() => Promise<void> | void)[] = [releaseLock];
  // The HTTP layer (Fastify, prom-client, the routes: most of the modules) loads while the
  // store's threads start and open the database on the other cores.
  const httpLayer = Promise.all([import('./http/app.js'), import('./http/metrics.js'), import('./http/errors.js')]);
  httpLayer.catch(() => {}); // awaited below; a failed start may never get there
  try {
    // A request meanwhile hears that the service is starting, once the HTTP layer is loaded.
    const releasePort = await holdListenPort(c.host, c.port, (socket) => {
      httpLayer.then(([, , { answerStarting }]) => answerStarting(socket), () => socket.destroy());
    });
    cleanups.unshift(releasePort);
    const store = await openStore(c);
    const [{ buildApp }, { TaskOutcomeMetrics }] = await httpLayer;
    cleanups.unshift(() => store.close());
    const supervisor = new RedisSupervisor({ redisServer: c.redisServer, logger: log.child({ component: 'redis' }) });
    cleanups.unshift(() => supervisor.stopAll());
    // SQLite is single-node: instances belong to no node in particular.
    const nodeId = store.kind === 'sqlite' ? null : nodeIdOf(c.dataDir);
    if (nodeId !== null && store.nodes) {
      if (!(await store.nodes.claimNode(nodeId))) {
        throw new ConfigError(`node id ${nodeId} (${path.join(c.dataDir, 'node-id')}) is in use by another running node on this database: `
          + 'each node needs a data directory of its own (a copied one carries the same node id; remove its node-id file to make it a new node)');
      }
      // Alive before anything is decided about its tasks: a node back just before the others
      // judged it dead found its restore still running and held the instance for it, then
      // another node failed the task before the first periodic heartbeat (its data set aside,
      // nobody to put it back). Now the others see it alive and leave the task to it.
      await store.nodes.heartbeatNode(nodeId, Date.now());
    }
    const credentials = await loadNodeCredentials(c, store, nodeId, print);
    const leaseMs = Number(process.env.DCS_LEASE_MS ?? 0) || 15_000;
    const taskOutcomes = new TaskOutcomeMetrics();
    const engine = new TaskEngine({
      store, logger: log.child({ component: 'engine' }), nodeId: nodeId ?? undefined, failureCode: Errors.internal().code,
      stepDelayMs: Number(process.env.DCS_STEP_DELAY_MS ?? 0) || undefined, leaseMs,
      onFinished: (task, status, errorCode) => taskOutcomes.finished(task, status, errorCode),
      onReleased: (taskId) => taskOutcomes.released(taskId),
    });
    const maintenance = new Maintenance({
      store, logger: log.child({ component: 'maintenance' }), nodeId, heartbeatMs: Math.floor(leaseMs / 3),
      nodeDeadAfterMs: 2 * leaseMs, retentionDays: c.taskRetentionDays, failureCode: Errors.internal().code,
      onFailed: (task, errorCode) => taskOutcomes.finished(task, 'FAILED', errorCode),
    });
    const databaseMark = createHash('sha256').update(c.database.kind === 'sqlite' ? c.database.file : c.database.url).digest('hex').slice(0, 32);
    const runtime = new InstanceRuntime(store, supervisor, c.dataDir, log.child({ component: 'instances' }), databaseMark);
    // The statuses the supervisor's last events asked for are written before the store closes.
    cleanups.unshift(() => runtime.idle());
    for (const op of OPERATIONS) engine.register(taskOutcomes.observe(toEngineOperation(op, { store, runtime })));
    const targetOf = (i: Parameters<InstanceRuntime['targetOf']>[0]) => runtime.targetOf(i);
    engine.register(migrationRun({ store, targetOf, logger: log.child({ component: 'migrations' }), dataDir: c.dataDir, redisServer: c.redisServer }));
    const migrations = new MigrationService({ store, targetOf, dataDir: c.dataDir, kick: () => engine.kick() });
    const tasks = new TaskService(store, engine, log.child({ component: 'tasks' }));
    const instances = new InstanceService(
      store, runtime, supervisor, log.child({ component: 'instances' }), nodeId, () => maintenance.nodeLiveness(), limits.instanceQuota,
    );
    const backups = new BackupService(store, engine, instances, new DownloadSigner(c.dataDir), c.dataDir);
    const scans = new ScanService(store, engine, instances, runtime);
    const auth = new Authenticator(credentials, store, c.noAuth, sharedCredentials(store));

    // Interrupted tasks resume only once their instances are back. They come back (waiting on
    // their Redis and on the store, mostly) while the HTTP layer is built; nothing is served or
    // run before both are done.
    const instancesBack = (async () => {
      if (!(await supervisor.available())) {
        log.warn({ redis_server: c.redisServer }, `${c.redisServer} cannot be run: managed instances can be neither created nor started (attaching a Redis with redis_url works)`);
      }
      const all = await store.listAllInstances();
      const strays = await runtime.removeStrays(all);
      if (strays.length) log.warn({ dirs: strays }, 'stopped and removed what an earlier service process left of deleted instances or nodes');
      const mine = all.filter((i) => !i.managed || i.ownerNode === nodeId);
      const swept = sweepImportLeftovers(c.dataDir).then((n) => {
        if (n) log.warn({ servers: n }, 'stopped the temporary redis-servers of imports an earlier service process left');
      }, (err) => log.error({ err }, 'the leftovers of earlier imports could not be removed'));
      await Promise.all([swept, ...mine.map(async (i) => {
        const held = new Set<string>();
        if (i.managed) {
          // activeTasks, not getTask: a restore's task is a record's, which getTask does not show.
          // Read once per instance, for both questions below (put back; hold its node).
          let active: Promise<Set<string>> | null = null;
          const running = async (taskId: string) =>
            (await (active ??= store.activeTasks(i.projectId).then((ts) => new Set(ts.map((t) => t.id))))).has(taskId);
          const put = await putBackAbandonedRestores(i.nodes.map((n) => runtime.dirOf(i.id, n.name)), running);
          if (put.length) log.warn({ instance_id: i.id, restores: put }, 'put back the data of restores that ended while this service was down');
          for (const n of i.nodes) if (await heldByRestore(runtime.dirOf(i.id, n.name), running)) held.add(n.name);
        }
        await runtime.bringUp(i, held);
      })]);
      await store.releaseStaleLeases(nodeId ?? 'node', Date.now());
    })();
    const building = buildApp({
      logger: log, auth, tasks, instances, backups, scans, version: VERSION, limits, audit: new TaskAuditLog(store), migrations: { service: migrations, host: c.host },
      metrics: { taskCounts: () => store.countTasksByStatus(), redisUp: () => supervisor.list().filter((id) => supervisor.isUp(id)).length, taskOutcomes },
      health: {
        probeStore: () => store.ping(),
        managedRedis: () => ({ total: supervisor.list().length, up: supervisor.list().filter((id) => supervisor.isUp(id)).length }),
      },
    });
    // Both settle before anything goes on: a failure of one never leaves the other running (a
    // managed redis-server started after the clean-up stopped the others).
    const [built, back] = await Promise.allSettled([building, instancesBack]);
    if (built.status === 'rejected') throw built.reason;
    if (back.status === 'rejected') throw back.reason;
    const app = built.value;
    engine.start();
    maintenance.start();
    await store.listen(() => engine.kick());
    // Runs after the engine's stop (cleanups run last-added first): its leases are released then.
    cleanups.unshift(() => maintenance.markStopped());
    cleanups.unshift(() => engine.stop());
    cleanups.unshift(() => maintenance.stop());
    if (store.nodes) {
      // An instance deleted through another node: this node, its supervisor, stops its processes.
      let sweeping = false;
      const sweep = setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        void runtime.stopDeleted().then(
          (ids) => { if (ids.length) log.info({ instance_ids: ids }, 'stopped the redis-servers of instances deleted on another node'); },
          (err) => log.warn({ err }, 'looking for instances deleted on another node failed'),
        ).finally(() => { sweeping = false; });
      }, 1000);
      sweep.unref();
      cleanups.unshift(() => clearInterval(sweep));
    }
    const scheduler = new AutoscanScheduler({
      store, scans, backups, logger: log.child({ component: 'scheduler' }), tickMs: Number(process.env.DCS_SCHEDULER_TICK_MS ?? 0) || 30_000,
    });
    scans.configs.onChange = backups.policies.onChange = () => scheduler.wake();
    scheduler.start();
    cleanups.unshift(() => scheduler.stop());

    cleanups.unshift(() => app.close());
    await releasePort();
    try {
      await app.listen({ host: c.host, port: c.port });
    } catch (e) {
      throw listenError(c.host, c.port, e);
    }
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : c.port;
    const url = `http://${c.host.includes(':') ? `[${c.host}]` : c.host}:${port}`;
    let stopping: Promise<void> | null = null;
    return {
      app, url, engine, store,
      stop: () => (stopping ??= runCleanups(cleanups, log)),
    };
  } catch (e) {
    await runCleanups(cleanups, log);
    throw e;
  }
}

async function runCleanups(cleanups: (() => Promise<void> | void)[], log: Logger): Promise<void> {
  for (const f of cleanups) {
    try {
      await f();
    } catch (err) {
      log.error({ err }, 'shutdown step failed');
    }
  }
}
