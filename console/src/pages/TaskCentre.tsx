/**
 * The task centre: every task of the project, filtered by status, task name, instance, task id
 * and start time, paged, deletable. Filters and page live in the URL hash
 * (#/tasks?status=FAILED&offset=20), so a view can be shared and survives a reload.
 *
 * The API filters by time only; the other filters are applied here, over the newest
 * FILTER_SCAN tasks of the time range (the page says so when there are more).
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleApi } from '../api';
import type { Instance, Task, TaskPage, TaskStatus } from '../types';
import { browserZone, inputTime, queryTime } from '../format';
import { href, intParam, setHash, type Query } from '../router';
import { TASK_LABELS } from '../taskNames';
import { Pager } from '../components/Pager';
import { RefreshControl } from '../components/RefreshControl';
import { TaskTable } from '../components/TaskTable';
import { useTaskPage } from '../useTaskPage';

export const FILTER_SCAN = 1000;
const STATUSES: TaskStatus[] = ['CREATED', 'WAITING', 'EXECUTING', 'SUCCESS', 'FAILED'];
const CLIENT_FILTERS = ['status', 'name', 'instance', 'id'] as const;

async function loadFiltered(api: ConsoleApi, q: Query, offset: number, limit: number): Promise<TaskPage> {
  const window = { start_time: q.start_time, end_time: q.end_time };
  if (!CLIENT_FILTERS.some((k) => q[k])) return api.listTasks({ offset, limit, ...window });
  const all = await api.listTasks({ offset: 0, limit: FILTER_SCAN, ...window });
  const id = (q.id ?? '').trim().toLowerCase();
  const match = (t: Task) => (!q.status || t.status === q.status) && (!q.name || t.name === q.name) &&
    (!q.instance || t.instance_id === q.instance) && (!id || t.id.toLowerCase().includes(id));
  const hits = all.tasks.filter(match);
  return { total: hits.length, tasks: hits.slice(offset, offset + limit), capped: all.total > all.tasks.length };
}

export function TaskCentre({ api, query }: { api: ConsoleApi; query: Query }) {
  const offset = intParam(query, 'offset', 0);
  const limit = intParam(query, 'limit', 10);
  const go = (change: Query) => setHash(href.tasks({ ...query, ...change }));
  // The time inputs as typed (local time) until Apply; the applied range is in the hash.
  const [from, setFrom] = useState(inputTime(query.start_time));
  const [to, setTo] = useState(inputTime(query.end_time));
  const [instances, setInstances] = useState<Instance[]>([]);
  useEffect(() => { api.listInstances().then(setInstances, () => setInstances([])); }, [api]);

  // Tasks of a deleted instance have no progress route any more; they are finished anyway.
  const progressOf = (t: Task) => (t.instance_id ? api.taskProgress(t.instance_id, t.id) : null);
  const live = useTaskPage({
    load: () => loadFiltered(api, query, offset, limit),
    progressOf,
    failReasonOf: (t) => api.failReason(t.id),
  }, [api, JSON.stringify(query)]);
  // Deleting the last task of the last page leaves it empty: show the page before it.
  useEffect(() => {
    if (live.page?.tasks.length === 0 && offset > 0) go({ offset: String(Math.max(0, offset - limit)) });
  }, [live.page]);

  const applyTimes = (e: Event) => {
    e.preventDefault();
    go({ offset: '', start_time: queryTime(from), end_time: queryTime(to) });
  };
  const clear = () => {
    setFrom('');
    setTo('');
    setHash(href.tasks(limit !== 10 ? { limit: String(limit) } : {}));
  };
  const select = (name: string) => (e: Event) => go({ offset: '', [name]: (e.target as HTMLSelectElement).value });
  const value = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  const filtered = CLIENT_FILTERS.some((k) => query[k]) || query.start_time || query.end_time;

  return (
    <section>
      <div class="page-head">
        <h1>Task centre</h1>
        <RefreshControl updatedAt={live.updatedAt} reload={live.reload} />
      </div>
      <form class="toolbar filter" onSubmit={applyTimes}>
        <label>Status{' '}
          <select name="status" value={query.status ?? ''} onChange={select('status')}>
            <option value="">any</option>
            {STATUSES.map((s) => <option value={s}>{s}</option>)}
          </select>
        </label>
        <label>Task{' '}
          <select name="name" value={query.name ?? ''} onChange={select('name')}>
            <option value="">any</option>
            {Object.entries(TASK_LABELS).map(([n, label]) => <option value={n}>{label} ({n})</option>)}
          </select>
        </label>
        <label>Instance{' '}
          <select name="instance" value={query.instance ?? ''} onChange={select('instance')}>
            <option value="">any</option>
            {instances.map((i) => <option value={i.instance_id}>{i.name}</option>)}
            {query.instance && !instances.some((i) => i.instance_id === query.instance) && <option value={query.instance}>{query.instance}</option>}
          </select>
        </label>
        <label>Task id{' '}
          <input type="search" name="id" placeholder="id or part of it" defaultValue={query.id ?? ''}
            onChange={(e) => go({ offset: '', id: (e.target as HTMLInputElement).value.trim() })} />
        </label>
        <label>Started from <input type="datetime-local" step={1} name="start_time" value={from} onInput={value(setFrom)} /></label>
        <label>to <input type="datetime-local" step={1} name="end_time" value={to} onInput={value(setTo)} /></label>
        <button type="submit" class="btn btn-primary">Apply</button>
        <button type="button" class="btn" onClick={clear} disabled={!filtered && !from && !to}>Clear</button>
        <span class="muted small">Times in {browserZone()}.</span>
      </form>
      {live.page?.capped && <p class="muted small capped">Filters apply to the newest {FILTER_SCAN} tasks of the time range; narrow the time range to see older ones.</p>}
      <TaskTable live={live} showInstance progressOf={progressOf} remove={(t) => api.deleteTask(t.id)} />
      <Pager offset={offset} limit={limit} total={live.page?.total ?? 0} onChange={(o, l) => go({ offset: o ? String(o) : '', limit: l !== 10 ? String(l) : '' })} />
    </section>
  );
}
