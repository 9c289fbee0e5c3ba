/** Child processes of the benchmarks: the baseline servers, and what the kernel says about a process. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BARE_SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bare-server.js');

export type BareKind = 'canned' | 'http' | 'fastify';

export interface ChildServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts one baseline server (see bare-server.ts) in its own process; resolves once it listens. */
export function startBareServer(kind: BareKind): Promise<ChildServer> {
  const p = spawn(process.execPath, [BARE_SERVER, kind], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    p.once('exit', (code) => reject(new Error(`${kind} server exited ${code} before listening: ${out}`)));
    p.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      p.removeAllListeners('exit');
      resolve({
        url: m[1]!, pid: p.pid!,
        stop: () => new Promise((done) => {
          if (p.exitCode !== null || p.signalCode !== null) return done();
          p.once('exit', () => done());
          p.kill('SIGTERM');
        }),
      });
    });
  });
}

/** Resident and peak resident memory of a process, in MB (Linux /proc). */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** The machine a run happened on, for the first line of a benchmark's output. */
export function machine(): string {
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  return `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, node ${process.version}, load average ${load}, ${new Date().toISOString().slice(0, 10)}`;
}
