/**
 * One list kept live, for the record tabs and the migrations page: loaded at once, then every
 * second while `busy(data)` says something on it is still moving, otherwise every REFRESH_MS
 * while auto-refresh is on. A failed load replaces the data (no stale rows under an error).
 */
import { useEffect, useState } from 'preact/hooks';
import { REFRESH_MS, useAutoRefresh } from './autoRefresh';
import { POLL_MS } from './useTaskPage';

export interface Live<T> {
  data: T | null;
  error: unknown;
  updatedAt: number | null;
  reload(): void;
}

export function useLive<T>(load: () => Promise<T>, busy: (data: T) => boolean, deps: unknown[]): Live<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [generation, setGeneration] = useState(0);
  const auto = useAutoRefresh();
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      let moving = false;
      try {
        const d = await load();
        if (!alive) return;
        moving = busy(d);
        setData(d);
        setError(null);
        setUpdatedAt(Date.now());
      } catch (e) {
        if (!alive) return;
        setData(null);
        setError(e);
      }
      if (moving) timer = setTimeout(run, POLL_MS);
      else if (auto) timer = setTimeout(run, REFRESH_MS);
    };
    void run();
    return () => { alive = false; clearTimeout(timer); };
  }, [...deps, generation, auto]);
  return { data, error, updatedAt, reload: () => setGeneration((g) => g + 1) };
}
