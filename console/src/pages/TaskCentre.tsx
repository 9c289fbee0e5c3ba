/** The task centre: every task of the project, filtered by start time, paged, deletable. */
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleApi } from '../api';
import type { Task } from '../types';
import { queryTime } from '../format';
import { Pager } from '../components/Pager';
import { TaskTable } from '../components/TaskTable';
import { useTaskPage } from '../useTaskPage';

export function TaskCentre({ api }: { api: ConsoleApi }) {
  const [offset, setOffset] = useState(0);
  const [limit, setLimit] = useState(10);
  // Inputs as typed (local time) and the range applied (the API's yyyyMMddHHmmss UTC).
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [range, setRange] = useState({ start_time: '', end_time: '' });

  // Tasks of a deleted instance have no progress route any more; they are finished anyway.
  const progressOf = (t: Task) => (t.instance_id ? api.taskProgress(t.instance_id, t.id) : null);
  const live = useTaskPage(
    () => api.listTasks({ offset, limit, ...range }),
    progressOf,
    [api, offset, limit, range.start_time, range.end_time],
  );
  // Deleting the last task of the last page leaves it empty: show the page before it.
  useEffect(() => {
    if (live.page?.tasks.length === 0 && offset > 0) setOffset(Math.max(0, offset - limit));
  }, [live.page]);
  const apply = (e: Event) => {
    e.preventDefault();
    setOffset(0);
    setRange({ start_time: queryTime(from), end_time: queryTime(to) });
  };
  const clear = () => {
    setFrom('');
    setTo('');
    setOffset(0);
    setRange({ start_time: '', end_time: '' });
  };
  const value = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);

  return (
    <section>
      <div class="page-head">
        <h1>Task centre</h1>
        <button type="button" class="btn" onClick={live.reload}>Refresh</button>
      </div>
      <form class="toolbar filter" onSubmit={apply}>
        <label>Started from <input type="datetime-local" step={1} name="start_time" value={from} onInput={value(setFrom)} /></label>
        <label>to <input type="datetime-local" step={1} name="end_time" value={to} onInput={value(setTo)} /></label>
        <button type="submit" class="btn btn-primary">Apply</button>
        <button type="button" class="btn" onClick={clear} disabled={!from && !to && !range.start_time && !range.end_time}>Clear</button>
        <span class="muted small">Times in your browser's time zone.</span>
      </form>
      <TaskTable live={live} showInstance progressOf={progressOf} remove={(t) => api.deleteTask(t.id)} />
      <Pager offset={offset} limit={limit} total={live.page?.total ?? 0} onChange={(o, l) => { setOffset(o); setLimit(l); }} />
    </section>
  );
}
