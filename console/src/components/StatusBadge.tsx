/**
 * Task, instance, record and migration states as coloured badges (the colour says done /
 * running / failed). Records spell theirs in lower case (`backuping`, `succeed`), as DCS does.
 */
const TONE: Record<string, string> = {
  SUCCESS: 'ok', RUNNING: 'ok', FINISH: 'ok', succeed: 'ok', success: 'ok',
  FAILED: 'bad', ERROR: 'bad', CREATEFAILED: 'bad', failed: 'bad',
  EXECUTING: 'busy', CREATED: 'wait', WAITING: 'wait', CREATING: 'busy', RESTARTING: 'busy', EXTENDING: 'busy',
  RESTORING: 'busy', FLUSHING: 'busy', DELETING: 'busy', MIGRATING: 'busy', INCRMIGEATING: 'busy', TERMINATING: 'busy',
  TERMINATED: 'wait', waiting: 'wait', backuping: 'busy', restoring: 'busy', running: 'busy', deleted: 'wait', expired: 'wait',
};

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${TONE[status] ?? 'wait'}`}>{status}</span>;
}
