/**
 * Starts the real service as a child process (`node dist/src/cli.js serve`), exactly as a user
 * would, on a free port with its own data directory and credentials file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { testDatabaseUrl } from './db.js';

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');

export interface TestCredential {
  access_key: string;
  secret_key: string;
  project_id: string;
  user_id: string;
  user_name: string;
  role: 'admin' | 'readonly';
}

const hex = (n: number) => randomBytes(n).toString('hex');

export function makeCredential(projectId: string, role: 'admin' | 'readonly', userName: string): TestCredential {
  return {
    access_key: `AK${hex(9).toUpperCase()}`, secret_key: `SK${hex(19)}`, project_id: projectId,
    user_id: hex(16), user_name: userName, role,
  };
}

/** The three credentials every test service gets: an admin and a reader of one project, an admin of another. */
export function testCredentials(project = hex(16)): TestCredential[] {
  return [makeCredential(project, 'admin', 'alice'), makeCredential(project, 'readonly', 'bob'), makeCredential(hex(16), 'admin', 'carol')];
}

const credentialsFileOf = (dataDir: string) => path.join(dataDir, 'test-credentials.json');

export function writeTestCredentials(dataDir: string, creds: TestCredential[]): void {
  fs.writeFileSync(credentialsFileOf(dataDir), JSON.stringify(creds), { mode: 0o600 });
}

export function readTestCredentials(dataDir: string): TestCredential[] {
  return JSON.parse(fs.readFileSync(credentialsFileOf(dataDir), 'utf8'));
}

/**
 * A data directory with its credentials written and its database URL chosen, before the
 * service starts: for tests that seed the database first, then `startService({ dataDir, database })`.
 */
export function prepareDataDir(kind?: 'sqlite' | 'postgres') {
  const dataDir = tempDir();
  const creds = testCredentials();
  writeTestCredentials(dataDir, creds);
  return { dataDir, creds, project: creds[0]!.project_id, database: testDatabaseUrl(dataDir, kind) };
}

export interface Service {
  url: string;
  dataDir: string;
  /** The --database URL the service runs on (SQLite file or its own PostgreSQL schema). */
  database: string;
  proc: ChildProcess;
  admin: TestCredential;
  reader: TestCredential;
  other: TestCredential;
  output(): string;
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  /** Defaults to a fresh database of the store under test (see db.ts). */
  database?: string;
  args?: string[];
  env?: Record<string, string>;
  credentials?: TestCredential[];
}

export function tempDir(prefix = 'dcs-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs the CLI to completion: exit code and output. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`cli timed out: ${args.join(' ')}\n${stdout}\n${stderr}`)); }, timeoutMs);
    p.on('exit', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

export async function startService(o: StartOptions = {}): Promise<Service> {
  const dataDir = o.dataDir ?? tempDir();
  const database = o.database ?? testDatabaseUrl(dataDir);
  const credFile = credentialsFileOf(dataDir);
  let creds: TestCredential[];
  if (fs.existsSync(credFile)) creds = readTestCredentials(dataDir);
  else {
    creds = o.credentials ?? testCredentials();
    writeTestCredentials(dataDir, creds);
  }
  let out = '';
  const svc: Service = {
    url: '', dataDir, database, proc: undefined as unknown as ChildProcess,
    admin: creds[0], reader: creds[1], other: creds[2],
    output: () => out,
    stop: async () => {
      if (svc.proc.exitCode !== null || svc.proc.signalCode !== null) return svc.proc.exitCode;
      const exited = new Promise<number | null>((r) => svc.proc.once('exit', (code) => r(code)));
      svc.proc.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      if (svc.proc.exitCode !== null || svc.proc.signalCode !== null) return;
      const exited = new Promise((r) => svc.proc.once('exit', r));
      svc.proc.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      await launch();
    },
  };
  const launch = () => new Promise<void>((resolve, reject) => {
    const args = ['serve', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, '--database', database, '--credentials', credFile, '--log-level', 'info', ...(o.args ?? [])];
    const p = spawnCli(args, o.env);
    svc.proc = p;
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${out}`)), 30_000);
    p.stdout!.on('data', (d: Buffer) => {
      out += d;
      buf += d;
      const m = /listening on (http:\/\/\S+)/.exec(buf);
      if (m && !svc.url.endsWith(m[1])) {
        svc.url = m[1];
        buf = '';
        clearTimeout(timer);
        resolve();
      }
    });
    p.stderr!.on('data', (d) => (out += d));
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (!svc.url || p !== svc.proc) return;
      if (code !== 0 && code !== null) reject(new Error(`service exited ${code}:\n${out}`));
    });
    p.once('exit', () => { if (!buf.includes('listening')) reject(new Error(`service exited before listening:\n${out}`)); });
    svc.url = '';
  });
  await launch();
  return svc;
}
