/** Task and instance states as coloured badges (the colour says done / running / failed). */
const TONE: Record<string, string> = {
  SUCCESS: 'ok', RUNNING: 'ok', FINISH: 'ok',
  FAILED: 'bad', ERROR: 'bad',
  EXECUTING: 'busy', CREATED: 'wait', WAITING: 'wait', CREATING: 'busy', RESTARTING: 'busy', EXTENDING: 'busy',
};

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${TONE[status] ?? 'wait'}`}>{status}</span>;
}
