/** Refresh now, the auto-refresh switch and how fresh the list is ("updated 3 s ago"). */
import { setAutoRefresh, useAutoRefresh, useClock } from '../autoRefresh';
import { ago } from '../format';

export function RefreshControl({ updatedAt, reload }: { updatedAt: number | null; reload(): void }) {
  const auto = useAutoRefresh();
  const now = useClock();
  return (
    <span class="refresh">
      <span class="muted small updated" aria-live="off">{updatedAt === null ? 'loading…' : `updated ${ago(updatedAt, now)}`}</span>
      <label class="small switch">
        <input type="checkbox" name="auto_refresh" checked={auto} onChange={(e) => setAutoRefresh((e.target as HTMLInputElement).checked)} />
        Auto-refresh
      </label>
      <button type="button" class="btn" onClick={reload}>Refresh</button>
    </span>
  );
}
