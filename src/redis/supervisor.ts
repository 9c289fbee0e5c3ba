/**
 * RedisSupervisor: starts, watches and stops the real redis-server processes behind managed
 * instances. Each instance has its own directory with a 0600 redis.conf (the password lives
 * there, never on a command line where `ps` would show it), its pid file, AOF and log.
 *
 * Children are spawned detached, in their own process group: a Ctrl-C aimed at the service
 * must not kill Redis before the service shuts it down cleanly. If the service itself dies
 * (kill -9), its Redis processes live on; the next start finds them through the pid file and
 * replaces them, so the port is free and the data (AOF) is kept.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { serverDir } from './commands.js';
import { leftoverRedis, stopProcess } from './leftovers.js';

export interface ManagedRedisSpec {
  instanceId: string;
  port: number;
  host?: string;
  password: string | null;
  maxmemoryBytes: number;
  dir: string;
  replicaOf?: { host: string; port: number; password: string | null } | null;
  /** `rename-command` lines: a command's name → its new name. */
  renameCommands?: Record<string, string>;
}

export class RedisServerMissingError extends Error {
  constructor(bin: string) {
    super(`${bin} cannot be run: install it (apt-get install redis-server) or attach an existing Redis with "redis_url"`);
    this.name = 'RedisServerMissingError';
  }
}

interface Managed {
  spec: ManagedRedisSpec;
  child: ChildProcess | null;
  up: boolean;
  stopping: boolean;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | null;
  /** Bumped by every start and stop: a restart scheduled before one of them has nothing more to do. */
  generation: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Quotes a value for redis.conf: printable ASCII as is, everything else as \xHH bytes. */
export function confQuote(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (byte >= 0x20 && byte < 0x7f) out += c;
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

/** Redis reads maxmemory 0 as "no limit": a managed instance never runs without one. */
const MIN_MAXMEMORY_BYTES = 1024 * 1024;

function checkMaxmemory(s: ManagedRedisSpec): void {
  if (!Number.isSafeInteger(s.maxmemoryBytes) || s.maxmemoryBytes < MIN_MAXMEMORY_BYTES) {
    throw new Error(`refusing to run redis-server with maxmemory ${s.maxmemoryBytes}: at least ${MIN_MAXMEMORY_BYTES} bytes`);
  }
}

function confText(s: ManagedRedisSpec): string {
  checkMaxmemory(s);
  const lines = [
    `port ${s.port}`,
    `bind ${s.host ?? '127.0.0.1'}`,
    'protected-mode no',
    'daemonize no',
    `dir ${confQuote(s.dir)}`,
    `pidfile ${confQuote(path.join(s.dir, 'redis.pid'))}`,
    `logfile ${confQuote(path.join(s.dir, 'redis.log'))}`,
    `maxmemory ${s.maxmemoryBytes}`,
    'appendonly yes',
    'appendfsync everysec',
    'save ""',
    // One replica at a time: waiting for more to join a diskless transfer only delays it.
    'repl-diskless-sync-delay 0',
  ];
  if (s.password) lines.push(`requirepass ${confQuote(s.password)}`);
  if (s.replicaOf) {
    lines.push(`replicaof ${s.replicaOf.host} ${s.replicaOf.port}`);
    if (s.replicaOf.password) lines.push(`masterauth ${confQuote(s.replicaOf.password)}`);
  }
  for (const [command, name] of Object.entries(s.renameCommands ?? {})) lines.push(`rename-command ${command} ${confQuote(name)}`);
  return `${lines.join('\n')}\n`;
}

export class RedisSupervisor extends EventEmitter {
  private readonly procs = new Map<string, Managed>();
  private availability: boolean | null = null;
  private readonly restartBackoffMs: number;

  constructor(private readonly o: { redisServer: string; logger: Logger; restartBackoffMs?: number }) {
    super();
    this.restartBackoffMs = o.restartBackoffMs ?? 500;
  }

  /** The redis-server binary managed instances run (--redis-server). */
  get binary(): string {
    return this.o.redisServer;
  }

  async available(): Promise<boolean> {
    if (this.availability === null) {
      const r = spawnSync(this.o.redisServer, ['--version'], { stdio: 'ignore', timeout: 5000 });
      this.availability = r.status === 0;
    }
    return this.availability;
  }

  spec(id: string): ManagedRedisSpec | undefined {
    return this.procs.get(id)?.spec;
  }

  isUp(id: string): boolean {
    return this.procs.get(id)?.up ?? false;
  }

  pid(id: string): number | undefined {
    return this.procs.get(id)?.child?.pid;
  }

  list(): string[] {
    return [...this.procs.keys()];
  }

  update(id: string, patch: Partial<Omit<ManagedRedisSpec, 'instanceId'>>): void {
    const m = this.procs.get(id);
    if (!m) return;
    m.spec = { ...m.spec, ...patch };
    this.writeConf(m.spec);
  }

  async start(spec: ManagedRedisSpec): Promise<void> {
    if (!(await this.available())) throw new RedisServerMissingError(this.o.redisServer);
    checkMaxmemory(spec);
    const existing = this.procs.get(spec.instanceId);
    if (existing?.child) await this.stop(spec.instanceId);
    const m: Managed = existing ?? { spec, child: null, up: false, stopping: false, backoffMs: this.restartBackoffMs, restartTimer: null, generation: 0 };
    m.generation++;
    m.spec = spec;
    m.stopping = false;
    if (m.restartTimer) clearTimeout(m.restartTimer);
    m.restartTimer = null;
    this.procs.set(spec.instanceId, m);
    fs.mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
    await this.replaceOrphan(spec.dir);
    this.writeConf(spec);
    try {
      await this.launch(m);
    } catch (e) {
      // Not given up: tried again with the restart backoff (the port may be free later) until
      // it is up ('up' is emitted) or stopped. The caller still hears of this failure.
      if (!m.stopping) this.scheduleRestart(m);
      throw e;
    }
  }

  private writeConf(spec: ManagedRedisSpec): void {
    const file = path.join(spec.dir, 'redis.conf');
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, confText(spec), { mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
  }

  /** A redis-server left running by a service process that died is stopped before we start ours. */
  private async replaceOrphan(dir: string): Promise<void> {
    const pid = leftoverRedis(dir);
    if (pid === null || [...this.procs.values()].some((m) => m.child?.pid === pid)) return;
    this.o.logger.warn({ pid, dir }, 'replacing a redis-server left by an earlier service process');
    await stopProcess(pid);
  }

  private async launch(m: Managed): Promise<void> {
    const { spec } = m;
    const child = spawn(this.o.redisServer, [path.join(spec.dir, 'redis.conf')], { stdio: 'ignore', detached: true });
    child.unref();
    m.child = child;
    let exited = false;
    child.once('error', () => { exited = true; });
    child.once('exit', (code, signal) => {
      exited = true;
      this.onExit(m, child, code, signal);
    });
    const target = { host: spec.host ?? '127.0.0.1', port: spec.port, password: spec.password };
    // Up means our redis-server answers, not any: another Redis already on the port (an instance
    // created at the same moment with the same port and password) would answer a ping while ours
    // fails to bind, and the instance would run its tasks against the other's data. Each node
    // has a directory of its own, which its server reports.
    const ownDir = fs.realpathSync(spec.dir);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`redis-server exited during start: ${this.logTail(spec.dir)}`);
      if ((await serverDir(target, { timeoutMs: 500 })) === ownDir) {
        m.up = true;
        m.backoffMs = this.restartBackoffMs;
        return;
      }
      await sleep(50);
    }
    child.kill('SIGKILL');
    throw new Error(`redis-server did not answer within 10 s: ${this.logTail(spec.dir)}`);
  }

  private logTail(dir: string): string {
    try {
      const lines = fs.readFileSync(path.join(dir, 'redis.log'), 'utf8').trim().split('\n');
      return lines.slice(-3).map((l) => l.replace(/^\d+:[A-Z] [^*#.-]*[*#.-] /, '')).join(' | ');
    } catch {
      return 'no log';
    }
  }

  private onExit(m: Managed, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (m.child !== child) return;
    m.child = null;
    const wasUp = m.up;
    m.up = false;
    if (m.stopping || !wasUp) return;
    this.o.logger.warn({ instance_id: m.spec.instanceId, code, signal }, 'redis-server exited unexpectedly; restarting it');
    this.emit('down', m.spec.instanceId, { code, signal });
    this.scheduleRestart(m);
  }

  private scheduleRestart(m: Managed): void {
    const delay = m.backoffMs;
    m.backoffMs = Math.min(m.backoffMs * 2, 10_000);
    const generation = m.generation;
    // A start or stop since (a task taking the node down or up) owns the node: this attempt, at
    // any of its awaits, leaves it to them.
    const superseded = () => m.stopping || m.generation !== generation || !this.procs.has(m.spec.instanceId);
    m.restartTimer = setTimeout(async () => {
      m.restartTimer = null;
      if (superseded()) return;
      try {
        await this.replaceOrphan(m.spec.dir);
        if (superseded()) return;
        await this.launch(m);
        if (superseded()) return;
        this.o.logger.info({ instance_id: m.spec.instanceId }, 'redis-server is back');
        this.emit('up', m.spec.instanceId);
      } catch (err) {
        if (superseded()) return;
        this.o.logger.error({ instance_id: m.spec.instanceId, err: (err as Error).message }, 'restarting redis-server failed');
        this.emit('failed', m.spec.instanceId, err);
        this.scheduleRestart(m);
      }
    }, delay);
    m.restartTimer.unref();
  }

  async stop(id: string, opts: { removeFiles?: boolean } = {}): Promise<void> {
    const m = this.procs.get(id);
    if (!m) return;
    m.stopping = true;
    m.generation++;
    if (m.restartTimer) clearTimeout(m.restartTimer);
    const child = m.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM'); // Redis shuts down cleanly on SIGTERM, flushing its AOF
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    m.child = null;
    m.up = false;
    if (opts.removeFiles) {
      this.procs.delete(id);
      fs.rmSync(m.spec.dir, { recursive: true, force: true });
    }
  }

  async restart(id: string): Promise<void> {
    const m = this.procs.get(id);
    if (!m) throw new Error(`instance ${id} is not supervised here`);
    await this.stop(id);
    await this.start(m.spec);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((id) => this.stop(id)));
  }
}
