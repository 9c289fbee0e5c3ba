/**
 * Loads one page of tasks and keeps it live: while any task on the page is unfinished, the
 * page and those tasks' progress are fetched again every second; once all are done, polling
 * stops (nothing changes a finished task but a delete, which reloads explicitly).
 */
import { useEffect, useState } from 'preact/hooks';
import { isRunning, type Progress, type Task, type TaskPage } from './types';

export const POLL_MS = 1000;

export interface LiveTasks {
  page: TaskPage | null;
  error: unknown;
  progress: Record<string, Progress>;
  reload(): void;
}

export function useTaskPage(load: () => Promise<TaskPage>, progressOf: (t: Task) => Promise<Progress> | null, deps: unknown[]): LiveTasks {
  const [page, setPage] = useState<TaskPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [progress, setProgress] = useState<Record<string, Progress>>({});
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      let running: Task[] = [];
      try {
        const p = await load();
        if (!alive) return;
        setPage(p);
        setError(null);
        running = p.tasks.filter((t) => isRunning(t.status));
        // Progress is decoration: a task deleted or finished meanwhile just has none this round.
        const got = await Promise.all(running.map((t) => (progressOf(t) ?? Promise.resolve(null)).catch(() => null)));
        if (!alive) return;
        setProgress(Object.fromEntries(running.flatMap((t, i) => (got[i] ? [[t.id, got[i]]] : []))));
      } catch (e) {
        if (!alive) return;
        setError(e);
      }
      if (running.length) timer = setTimeout(run, POLL_MS);
    };
    void run();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [...deps, generation]);

  return { page, error, progress, reload: () => setGeneration((g) => g + 1) };
}
