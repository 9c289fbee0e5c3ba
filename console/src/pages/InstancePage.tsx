/**
 * One instance: Overview, Background Tasks (live task list, paging), Backups & Restores and
 * Cache Analysis (records.md), each tab in the address (#/instances/<id>/backups).
 */
import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useLive } from '../useLive';
import type { ConsoleApi } from '../api';
import { isRunning, type Instance, type Task } from '../types';
import { localTime } from '../format';
import { href, intParam, setHash, type InstanceTab, type Query } from '../router';
import { taskLabel } from '../taskNames';
import { BackupsTab } from '../tabs/BackupsTab';
import { AnalysisTab } from '../tabs/AnalysisTab';
import { ErrorMessage } from '../components/ErrorMessage';
import { Pager } from '../components/Pager';
import { RefreshControl } from '../components/RefreshControl';
import { StatusBadge } from '../components/StatusBadge';
import { TaskTable } from '../components/TaskTable';
import { useTaskPage } from '../useTaskPage';
import { Operations } from '../components/Operations';

export function InstancePage({ api, id, tab, query }: { api: ConsoleApi; id: string; tab: InstanceTab; query: Query }) {
  const [started, setStarted] = useState('');
  const [generation, setGeneration] = useState(0);
  // The instance and whether one of its tasks runs (operations are off meanwhile): every
  // second while a task runs, else at the auto-refresh pace.
  const live = useLive(async () => {
    const [instance, page] = await Promise.all([api.getInstance(id), api.listInstanceTasks(id, { offset: 0, limit: 10 })]);
    return { instance, running: page.tasks.find((t) => isRunning(t.status)) ?? null };
  }, (d) => d.running !== null || d.instance.task !== null, // the task field also covers backups and restores (not listed as tasks)
  [api, id, generation]);
  const instance = live.data?.instance ?? null;
  const running = live.data?.running ?? null;
  const error = live.error;
  // The operations stay while one refresh fails (an open dialog keeps what was typed, and says
  // so itself if sending fails too): on the instance last seen, every button off meanwhile.
  const lastSeen = useRef<Instance | null>(null);
  if (instance) lastSeen.current = instance;
  if (lastSeen.current?.instance_id !== id) lastSeen.current = null;
  const shown = instance ?? lastSeen.current;

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
      {shown && <Operations api={api} instance={shown} running={running ?? recordTask(shown)} onStarted={onStarted}
        unavailable={error ? 'The instance could not be refreshed: its operations are off until it is.' : null} />}
      {started && <div class="notice" role="status">{started} <button type="button" class="link" onClick={() => setStarted('')}>Dismiss</button></div>}
      <div class="tabs" role="tablist">
        {TABS.map(([t, label]) => (
          <a role="tab" aria-selected={tab === t} class={tab === t ? 'tab on' : 'tab'} href={href.instance(id, t)}>{label}</a>
        ))}
      </div>
      {/* One failure, shown once: without the instance there is no task list to show either. */}
      {error ? null
        : tab === 'overview' ? <Overview instance={instance} />
        : tab === 'tasks' ? <InstanceTasks key={generation} api={api} id={id} query={query} />
        : !instance ? null
        : tab === 'backups' ? <BackupsTab api={api} instance={instance} onChanged={() => setGeneration((g) => g + 1)} />
        : <AnalysisTab api={api} instance={instance} />}
    </section>
  );
}

const TABS: [InstanceTab, string][] = [['overview', 'Overview'], ['tasks', 'Background Tasks'], ['backups', 'Backups & Restores'], ['analysis', 'Cache Analysis']];

/** A backup or restore runs as the instance's task without being a listed background task. */
function recordTask(i: Instance): Task | null {
  const t = i.task;
  return t ? ({ id: t.id, name: t.name, status: t.status, created_at: t.created_at } as Task) : null;
}

/** "0.125 GB" below 1 GB (capacity is 0 there), else whole GB. */
export const capacityText = (i: Instance): string => `${i.capacity_minor || i.capacity} GB`;

function Overview({ instance: i }: { instance: Instance | null }) {
  if (!i) return null;
  const rows: [string, string][] = [
    ['Instance ID', i.instance_id],
    ['Status', i.status],
    ['Running task', i.task ? `${taskLabel(i.task.name)} (${i.task.name}) ${i.task.status} since ${localTime(i.task.created_at)}` : 'none'],
    ['Engine', `${i.engine} ${i.engine_version}`],
    ['Capacity', capacityText(i)],
    ['Memory', `${i.used_memory} MB used of ${i.max_memory} MB`],
    ['Address', `${i.ip}:${i.port}`],
    ['Redis processes', `${i.replica_count}: the master and ${i.nodes.filter((n) => n.role === 'replica').length} replica(s)`],
    ['Kind', i.attached ? 'Attached Redis' : 'Managed redis-server'],
    ['Created', localTime(i.created_at)],
    ['Description', i.description || '—'],
  ];
  return (
    <dl class="card details">
      {rows.map(([k, v]) => <Fragment key={k}><dt>{k}</dt><dd data-field={k} class={k === 'Instance ID' || k === 'Address' ? 'mono' : ''}>{v}</dd></Fragment>)}
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
    failReasonOf: (t) => api.instanceFailReason(id, t.id),
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
