/**
 * What the CLI prints and how it exits. Tables for people, JSON (--json) for scripts, one
 * error line on stderr, and exit codes a script can branch on (documented in the README).
 */
import { CommanderError, InvalidArgumentError } from 'commander';
import { DcsApiError, DcsNetworkError, DcsOptionsError, WaitTimeoutError } from '../client/index.js';

export const EXIT = {
  ok: 0,
  /** The service refused the request (a DCS error code), or something unexpected. */
  api: 1,
  /** Bad flags or arguments, missing endpoint/project/credentials. */
  usage: 2,
  /** The endpoint did not answer (refused, unknown host, timeout). */
  network: 3,
  /** `tasks wait` (or `--wait`): the task ended FAILED. */
  taskFailed: 4,
  /** `tasks wait --timeout`: the task had not finished in time. */
  waitTimeout: 5,
} as const;

/** A mistake in how the command was called; exit code 2. */
export class UsageError extends Error {}

/** Ends the command with an exit code after a message that is already printed. */
export class ExitWith extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export const out = (line = '') => void process.stdout.write(`${line}\n`);
export const err = (line: string) => void process.stderr.write(`${line}\n`);
export const printJson = (value: unknown) => out(JSON.stringify(value, null, 2));

/** Maps any failure of a command to its line on stderr and its exit code. */
export function report(e: unknown): number {
  if (e instanceof ExitWith) return e.code;
  if (e instanceof DcsApiError) {
    err(`${e.errorCode}: ${e.message} (request id ${e.requestId ?? 'none'})`);
    return EXIT.api;
  }
  if (e instanceof DcsNetworkError) {
    err(`dcs-tasks: ${e.message}`);
    return EXIT.network;
  }
  if (e instanceof WaitTimeoutError) {
    err(`dcs-tasks: ${e.message}`);
    return EXIT.waitTimeout;
  }
  // DcsOptionsError: the client refused its options (endpoint not a URL, AK without SK…);
  // InvalidArgumentError: an argument parsed inside an action (a port, say). Any other error —
  // a TypeError from an answer of an unexpected shape, say — is unexpected, not a usage error.
  if (e instanceof UsageError || e instanceof DcsOptionsError || e instanceof InvalidArgumentError) {
    err(`dcs-tasks: ${e.message}`);
    return EXIT.usage;
  }
  err(`dcs-tasks: unexpected error: ${(e as Error)?.message ?? String(e)}`);
  return EXIT.api;
}

/** Wraps a command action: failures are reported, the exit code set (output is flushed first). */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      process.exitCode = report(e);
    }
  };
}

/** Commander's own parse errors (unknown option, missing argument…) become exit code 2. */
export function usageExit(e: CommanderError): never {
  process.exit(e.exitCode === 0 ? EXIT.ok : EXIT.usage);
}

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** key: value lines, keys aligned. */
export function fields(pairs: [string, string | number | boolean | null | undefined][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v ?? '-'}`).join('\n');
}

/** ISO-8601 ms → "2026-01-02 03:04:05Z" (shorter in a table, still UTC). */
export const when = (iso: string | null | undefined): string =>
  iso ? iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') : '-';

/** Epoch ms as a string (job times) → the same format. */
export const whenMs = (ms: string | null | undefined): string =>
  ms ? when(new Date(Number(ms)).toISOString()) : '-';

/**
 * A reader that goes away (`dcs-tasks centre list | head -1`) is not an error: stop quietly with
 * exit 0 instead of an EPIPE stack trace, as other command-line tools do.
 */
export function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
      throw e;
    });
  }
}
