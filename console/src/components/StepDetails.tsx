/** A task's steps (progress route), fetched when expanded and refreshed while the task runs. */
import { useEffect, useState } from 'preact/hooks';
import type { Progress } from '../types';
import { localTime } from '../format';
import { POLL_MS } from '../useTaskPage';
import { ErrorMessage } from './ErrorMessage';
import { StatusBadge } from './StatusBadge';

export function StepDetails({ load, live }: { load: () => Promise<Progress>; live: boolean }) {
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const p = await load();
        if (alive) { setProgress(p); setError(null); }
      } catch (e) {
        if (alive) setError(e);
      }
      if (alive && live) timer = setTimeout(run, POLL_MS);
    };
    void run();
    return () => { alive = false; clearTimeout(timer); };
  }, [live]);

  if (error) return <ErrorMessage error={error} />;
  if (!progress) return <p class="muted">Loading steps…</p>;
  if (!progress.step_details.length) return <p class="muted">This task has no steps to show.</p>;
  return (
    <table class="steps">
      <thead><tr><th>#</th><th>Step</th><th>Status</th><th>Started</th><th>Ended</th><th>Error code</th></tr></thead>
      <tbody>
        {progress.step_details.map((s) => (
          <tr key={s.step_id} class={s.step_status === 'FAILED' ? 'step-failed' : ''}>
            <td>{s.step_id}</td>
            <td>{s.step_name}</td>
            <td><StatusBadge status={s.step_status} /></td>
            <td>{localTime(s.begin_time)}</td>
            <td>{localTime(s.end_time)}</td>
            <td>{s.error_code ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
