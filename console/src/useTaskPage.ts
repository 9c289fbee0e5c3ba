/**
 * Loads one page of tasks and keeps it live: while a task on the page is unfinished, the page
 * and those tasks' progress are fetched every second; otherwise every REFRESH_MS while
 * auto-refresh is on, so a task started elsewhere (CLI, another tab) appears by itself.
 * A failed load replaces the page (no stale rows under an error). Failed tasks get their
 * fail_reason from the job route once (a finished task does not change).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { REFRESH_MS, useAutoRefresh } from './autoRefresh';
import { isRunning, type Progress, type Task, type TaskPage } from './types';

export const POLL_MS = 1000;

export interface LiveTasks {
  page: TaskPage | null;
  error: unknown;
  progress: Record<string, Progress>;
  /** fail_reason by task id, for the FAILED tasks on the page. */
  failReasons: Record<string, string>;
  /** When the page was last loaded (epoch ms), null before the first answer. */
  updatedAt: number | null;
  reload(): void;
}

export interface TaskSources {
  load(): Promise<TaskPage>;
  progressOf(t: Task): Promise<Progress> | null;
  failReasonOf(t: Task): Promise<string | null>;
}

export function useTaskPage(src: TaskSources, deps: unknown[]): LiveTasks {
  const [page, setPage] = useState<TaskPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [progress, setProgress] = useState<Record<string, Progress>>({});
  const [failReasons, setFailReasons] = useState<Record<string, string>>({});
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [generation, setGeneration] = useState(0);
  const auto = useAutoRefresh();
  const reasons = useRef<Record<string, string>>({});
  /** The page and generation last loaded: switching auto-refresh off must not itself reload. */
  const loadedKey = useRef<string | null>(null);

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      let running: Task[] = [];
      try {
        const p = await src.load();
        if (!alive) return;
        setPage(p);
        setError(null);
        setUpdatedAt(Date.now());
        running = p.tasks.filter((t) => isRunning(t.status));
        // Progress and reasons are decoration: one that fails (task deleted meanwhile) is just absent.
        const fresh = p.tasks.filter((t) => t.status === 'FAILED' && !(t.id in reasons.current));
        const [got, why] = await Promise.all([
          Promise.all(running.map((t) => (src.progressOf(t) ?? Promise.resolve(null)).catch(() => null))),
          Promise.all(fresh.map((t) => src.failReasonOf(t).catch(() => null))),
        ]);
        if (!alive) return;
        setProgress(Object.fromEntries(running.flatMap((t, i) => (got[i] ? [[t.id, got[i]]] : []))));
        fresh.forEach((t, i) => { if (why[i]) reasons.current[t.id] = why[i]!; });
        setFailReasons({ ...reasons.current });
      } catch (e) {
        if (!alive) return;
        setPage(null);
        setError(e);
      }
      if (running.length) timer = setTimeout(run, POLL_MS);
      else if (auto) timer = setTimeout(run, REFRESH_MS);
    };
    const key = JSON.stringify([...deps, generation]);
    if (auto || loadedKey.current !== key) void run();
    else if (page?.tasks.some((t) => isRunning(t.status))) timer = setTimeout(run, POLL_MS); // running tasks stay live
    loadedKey.current = key;
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [...deps, generation, auto]);

  return { page, error, progress, failReasons, updatedAt, reload: () => setGeneration((g) => g + 1) };
}
