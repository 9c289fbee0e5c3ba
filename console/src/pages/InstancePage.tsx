/** One instance: an overview tab and the Background Tasks tab (live task list, paging). */
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleApi } from '../api';
import { isRunning, type Instance, type Task } from '../types';
import { localTime } from '../format';
import { href, intParam, setHash, type Query } from '../router';
import { ErrorMessage } from '../components/ErrorMessage';
import { Pager } from '../components/Pager';
import { RefreshControl } from '../components/RefreshControl';
import { StatusBadge } from '../components/StatusBadge';
import { TaskTable } from '../components/TaskTable';
import { POLL_MS, useTaskPage } from '../useTaskPage';
import { Operations } from '../components/Operations';
import { REFRESH_MS, useAutoRefresh } from '../autoRefresh';

export function InstancePage({ api, id, tab, query }: { api: ConsoleApi; id: string; tab: 'overview' | 'tasks'; query: Query }) {
  const [instance, setInstance] = useState<Instance | null>(null);
  const [running, setRunning] = useState<Task | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [started, setStarted] = useState('');
  const [generation, setGeneration] = useState(0);
  const auto = useAutoRefresh();
  // The instance and whether one of its tasks runs (operations are off meanwhile): every
  // second while a task runs, else at the auto-refresh pace.
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      let busy = false;
      try {
        const [i, page] = await Promise.all([api.getInstance(id), api.listInstanceTasks(id, { offset: 0, limit: 10 })]);
        if (!alive) return;
        const r = page.tasks.find((t) => isRunning(t.status)) ?? null;
        busy = r !== null;
        setInstance(i);
        setRunning(r);
        setError(null);
      } catch (e) {
        if (!alive) return;
        setError(e);
      }
      if (busy) timer = setTimeout(run, POLL_MS);
      else if (auto) timer = setTimeout(run, REFRESH_MS);
    };
    void run();
    return () => { alive = false; clearTimeout(timer); };
  }, [api, id, auto, generation]);

  const onStarted = (label: string) => {
    setStarted(`${label} started; its task is at the top of the list.`);
    setGeneration((g) => g + 1);
    setHash(href.instance(id, 'tasks'));
  };

  return (
    <section>
      <nav class="breadcrumb"><a href={href.instances()}>Instances</a> / <span>{instance?.name ?? id}</span></nav>
      <div class="page-head">
        <h1>{instance?.name ?? 'Instance'}</h1>
        {instance && <StatusBadge status={instance.status} />}
      </div>
      <ErrorMessage error={error} />
      {instance && !error && <Operations api={api} instance={instance} running={running} onStarted={onStarted} />}
      {started && <div class="notice" role="status">{started} <button type="button" class="link" onClick={() => setStarted('')}>Dismiss</button></div>}
      <div class="tabs" role="tablist">
        <a role="tab" aria-selected={tab === 'overview'} class={tab === 'overview' ? 'tab on' : 'tab'} href={href.instance(id)}>Overview</a>
        <a role="tab" aria-selected={tab === 'tasks'} class={tab === 'tasks' ? 'tab on' : 'tab'} href={href.instance(id, 'tasks')}>Background Tasks</a>
      </div>
      {/* One failure, shown once: without the instance there is no task list to show either. */}
      {error ? null : tab === 'overview' ? <Overview instance={instance} /> : <InstanceTasks key={generation} api={api} id={id} query={query} />}
    </section>
  );
}

function Overview({ instance: i }: { instance: Instance | null }) {
  if (!i) return null;
  const rows: [string, string][] = [
    ['Instance ID', i.instance_id],
    ['Engine', `${i.engine} ${i.engine_version}`],
    ['Capacity', `${i.capacity_minor || i.capacity} GB`],
    ['Address', `${i.ip}:${i.port}`],
    ['Redis processes', `${i.replica_count} (${i.nodes.filter((n) => n.role === 'replica').length} replicas)`],
    ['Kind', i.attached ? 'Attached Redis' : 'Managed redis-server'],
    ['Created', localTime(i.created_at)],
    ['Description', i.description || '—'],
  ];
  return (
    <dl class="card details">
      {rows.map(([k, v]) => <Fragment key={k}><dt>{k}</dt><dd class={k === 'Instance ID' || k === 'Address' ? 'mono' : ''}>{v}</dd></Fragment>)}
    </dl>
  );
}

function InstanceTasks({ api, id, query }: { api: ConsoleApi; id: string; query: Query }) {
  const offset = intParam(query, 'offset', 0);
  const limit = intParam(query, 'limit', 10);
  const go = (o: number, l: number) => setHash(href.instance(id, 'tasks', { offset: o ? String(o) : '', limit: l !== 10 ? String(l) : '' }));
  const progressOf = (t: Task) => api.taskProgress(id, t.id);
  const live = useTaskPage({
    load: () => api.listInstanceTasks(id, { offset, limit }),
    progressOf,
    failReasonOf: (t) => api.failReason(t.id),
  }, [api, id, offset, limit]);
  // Deleting the last task of the last page leaves it empty: show the page before it.
  useEffect(() => {
    if (live.page?.tasks.length === 0 && offset > 0) go(Math.max(0, offset - limit), limit);
  }, [live.page]);
  return (
    <div>
      <div class="toolbar">
        <span class="muted">Restarts, flushes, password and configuration changes of this instance.</span>
        <RefreshControl updatedAt={live.updatedAt} reload={live.reload} />
      </div>
      <TaskTable live={live} progressOf={progressOf} remove={(t) => api.deleteInstanceTask(id, t.id)} />
      <Pager offset={offset} limit={limit} total={live.page?.total ?? 0} onChange={go} />
    </div>
  );
}
