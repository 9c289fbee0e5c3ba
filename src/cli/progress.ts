/**
 * Following a task on the terminal: a redrawn progress bar on a TTY, one plain line per change
 * otherwise (logs, CI, tests). Both go to stderr so that stdout stays the result (and pure JSON
 * with --json).
 */
import { waitForTask, type DcsTasksClient, type Job, type TaskUpdate } from '../client/index.js';
import { EXIT, ExitWith, out, printJson } from './output.js';

const BAR_WIDTH = 30;

/**
 * One redrawn line that never wraps: a line longer than the terminal wraps, and `\r` then only
 * goes back to the start of its last row, leaving a trail. The bar shrinks and the text is cut
 * to fit `columns - 1` (the last column would wrap on some terminals).
 */
export function barLine(percent: number | null, text: string, columns: number): string {
  const room = Math.max(10, columns - 1);
  const pct = percent === null ? '   ?%' : `${String(percent).padStart(4)}%`;
  const width = Math.max(0, Math.min(BAR_WIDTH, room - pct.length - 2 - 20));
  const bar = width > 0 ? (() => {
    const filled = Math.round(((percent ?? 0) / 100) * width);
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  })() : '';
  const line = `${bar}${pct}  ${text}`;
  return line.length > room ? `${line.slice(0, room - 1)}…` : line;
}

function currentStep(u: TaskUpdate): string {
  const steps = u.progress?.step_details ?? [];
  const s = steps.find((x) => x.step_status === 'EXECUTING' || x.step_status === 'FAILED') ??
    steps.find((x) => x.step_status === 'WAITING') ?? steps[steps.length - 1];
  return s ? `step ${s.step_id}/${steps.length} ${s.step_name}` : '';
}

export function describe(u: TaskUpdate): { percent: number | null; text: string } {
  const percent = u.progress ? u.progress.progress : null;
  const left = u.progress && u.progress.remain_time > 0 ? `~${u.progress.remain_time}s left` : '';
  return { percent, text: [u.job.status, currentStep(u), left].filter(Boolean).join('  ') };
}

export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): { update: (u: TaskUpdate) => void; done: () => void } {
  let last = '';
  let drawn = false;
  return {
    update(u) {
      const { percent, text } = describe(u);
      const pct = percent === null ? '   ?%' : `${String(percent).padStart(4)}%`;
      if (stream.isTTY) {
        stream.write(`\r\x1b[K${barLine(percent, text, stream.columns || 80)}`);
        drawn = true;
      } else {
        const line = `${pct.trim()}  ${text}`;
        if (line !== last) stream.write(`${line}\n`);
        last = line;
      }
    },
    done() {
      if (drawn) stream.write('\n');
    },
  };
}

export interface FollowOptions {
  instanceId?: string;
  intervalMs?: number;
  timeoutMs?: number;
  json?: boolean;
  /** false: the caller prints the outcome (several tasks in one JSON document). */
  print?: boolean;
}

/** Waits for a task, shows progress, prints the outcome; throws ExitWith(4) when it FAILED (unless print is false). */
export async function follow(client: DcsTasksClient, taskId: string, o: FollowOptions): Promise<Job> {
  const printer = progressPrinter();
  let job: Job;
  try {
    job = await waitForTask(client, taskId, { instanceId: o.instanceId, intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, onUpdate: printer.update });
  } finally {
    printer.done();
  }
  if (o.print === false) return job;
  if (o.json) printJson(job);
  else printOutcome(job);
  if (job.status === 'FAIL') throw new ExitWith(EXIT.taskFailed);
  return job;
}

export function printOutcome(job: Job): void {
  out(`task ${job.job_id} ${job.status === 'FAIL' ? 'FAILED' : job.status} (${job.job_type})${job.fail_reason ? `: ${job.fail_reason}` : ''}`);
}
