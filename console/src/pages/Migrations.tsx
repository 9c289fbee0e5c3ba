/**
 * Data migrations of the project (automation.md §4): a live list; a row expands to the source,
 * the target and the copy's progress; Stop, Restart and Delete, each confirmed. Creating one
 * stays with the CLI (`dcs-tasks migrations create`) and the API.
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import type { ConsoleApi } from '../api';
import type { MigrationListItem } from '../types';
import { localTime } from '../format';
import { href, intParam, setHash, type Query } from '../router';
import { useLive } from '../useLive';
import { ActionDialog, Notice, type Action } from '../components/ActionDialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Pager } from '../components/Pager';
import { ProgressBar } from '../components/ProgressBar';
import { RefreshControl } from '../components/RefreshControl';
import { StatusBadge } from '../components/StatusBadge';

/** Copying or following the source (Stop applies; Delete is refused with DCS.4017). */
const ACTIVE = new Set(['MIGRATING', 'INCRMIGEATING', 'TERMINATING']);
const RESTARTABLE = new Set(['TERMINATED', 'FAILED', 'SUCCESS']);
export const MIGRATION_RUNNING_REASON = 'A running migration cannot be deleted (DCS.4017): stop it first.';

const METHOD: Record<string, string> = { full_amount_migration: 'Full copy', incremental_migration: 'Full copy, then follow writes' };
const source = (m: MigrationListItem) => m.source_instance_name || m.source_instance_id || m.data_source || '—';

export function Migrations({ api, query }: { api: ConsoleApi; query: Query }) {
  const offset = intParam(query, 'offset', 0);
  const limit = intParam(query, 'limit', 10);
  const [open, setOpen] = useState<string | null>(null);
  const [action, setAction] = useState<Action | null>(null);
  const [notice, setNotice] = useState('');
  const live = useLive(() => api.migrations.list({ offset, limit }), (p) => p.migrations.some((m) => ACTIVE.has(m.status)), [api, offset, limit]);
  const ask = (a: Action) => { setNotice(''); setAction(a); };

  const stop = (m: MigrationListItem): Action => ({
    title: `Stop migration ${m.task_name}`,
    confirmLabel: 'Stop',
    busyLabel: 'Stopping…',
    body: <><p>Copying into <strong>{m.target_instance_name || m.target_instance_id}</strong> stops within a second; what was copied stays. A target that follows the source is detached and writable again.</p>
      <p class="muted">The migration is TERMINATING, then TERMINATED; it can be restarted later.</p></>,
    run: async () => { await api.migrations.stop(m.task_id); return `Migration ${m.task_name} is stopping.`; },
  });
  const restart = (m: MigrationListItem): Action => ({
    title: `Restart migration ${m.task_name}`,
    confirmLabel: 'Restart',
    busyLabel: 'Restarting…',
    body: <p>The migration runs again with its settings: every key of the source is copied into <strong>{m.target_instance_name || m.target_instance_id}</strong> again (keys of the same name are overwritten).</p>,
    run: async () => { await api.migrations.restart(m.task_id); return `Migration ${m.task_name} restarted.`; },
  });
  const remove = (m: MigrationListItem): Action => ({
    title: `Delete migration ${m.task_name}`,
    confirmLabel: 'Delete',
    busyLabel: 'Deleting…',
    body: <><p>Delete the migration <strong>{m.task_name}</strong> (<span class="mono">{m.task_id}</span>), its logs and runs?</p>
      <p class="muted">The target's data is not touched. This cannot be undone.</p></>,
    run: async () => { await api.migrations.remove(m.task_id); return `Migration ${m.task_name} was deleted.`; },
  });

  const cols = 7;
  return (
    <section>
      <div class="page-head">
        <h1>Migrations</h1>
        <RefreshControl updatedAt={live.updatedAt} reload={live.reload} />
      </div>
      <p class="muted">Copies of a Redis (an instance or any address) or of RDB files into an instance. Create one with <span class="mono">dcs-tasks migrations create</span>.</p>
      <Notice text={notice} onDismiss={() => setNotice('')} />
      {live.error ? <ErrorMessage error={live.error} /> : (
        <table class="table table-cards">
          <thead><tr><th class="col-expand" aria-label="Details" /><th>Migration</th><th>Status</th><th>Source</th><th>Target</th><th>Created</th><th class="col-actions">Actions</th></tr></thead>
          <tbody>
            {live.data === null && <tr><td colSpan={cols} class="empty">Loading…</td></tr>}
            {live.data?.migrations.length === 0 && <tr><td colSpan={cols} class="empty">No migrations in this project.</td></tr>}
            {live.data?.migrations.map((m) => {
              const active = ACTIVE.has(m.status);
              const shown = open === m.task_id;
              return (
                <Fragment key={m.task_id}>
                  <tr data-migration-id={m.task_id} data-status={m.status}>
                    <td class="col-expand">
                      <button type="button" class="expander" aria-expanded={shown} aria-label={`${shown ? 'Hide' : 'Show'} details of ${m.task_name}`} onClick={() => setOpen(shown ? null : m.task_id)}>
                        {shown ? '▾' : '▸'}
                      </button>
                    </td>
                    <td data-label="Migration"><div class="task-name">{m.task_name}</div><div class="mono muted">{m.task_id}</div>
                      <div class="muted small">{METHOD[m.migration_method] ?? m.migration_method}</div></td>
                    <td data-label="Status"><StatusBadge status={m.status} />{m.error_message && <div class="fail-reason small">{m.error_message}</div>}</td>
                    <td data-label="Source">{source(m)}</td>
                    <td data-label="Target">{m.target_instance_id ? <a href={href.instance(m.target_instance_id)}>{m.target_instance_name || m.target_instance_id}</a> : '—'}
                      <div class="mono muted small">{m.target_instance_addrs}</div></td>
                    <td class="nowrap" data-label="Created">{localTime(m.created_at)}</td>
                    <td class="col-actions row-actions">
                      {(active || m.status === 'RUNNING') && m.status !== 'TERMINATING' && <button type="button" class="btn btn-small" onClick={() => ask(stop(m))}>Stop</button>}
                      {RESTARTABLE.has(m.status) && <button type="button" class="btn btn-small" onClick={() => ask(restart(m))}>Restart</button>}
                      <button type="button" class="btn btn-small btn-danger-outline" disabled={active} title={active ? MIGRATION_RUNNING_REASON : `Delete migration ${m.task_name}`}
                        onClick={() => ask(remove(m))}>Delete</button>
                      {active && <div class="delete-reason small muted">{MIGRATION_RUNNING_REASON}</div>}
                    </td>
                  </tr>
                  {shown && <tr class="steps-row"><td /><td colSpan={cols - 1}><MigrationDetail api={api} taskId={m.task_id} live={active} /></td></tr>}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
      <Pager offset={offset} limit={limit} total={live.data?.total ?? 0}
        onChange={(o, l) => setHash(href.migrations({ offset: o ? String(o) : '', limit: l !== 10 ? String(l) : '' }))} />
      {action && <ActionDialog action={action} onClose={() => setAction(null)} onDone={(n) => { setAction(null); setNotice(n); live.reload(); }} />}
    </section>
  );
}

/** Source, target, settings and the copy's progress (the stats route), live while it runs. */
function MigrationDetail({ api, taskId, live: running }: { api: ConsoleApi; taskId: string; live: boolean }) {
  const d = useLive(async () => {
    const [m, s] = await Promise.all([api.migrations.get(taskId), api.migrations.stats(taskId)]);
    return { m, s };
  }, () => running, [api, taskId, running]);
  if (d.error) return <ErrorMessage error={d.error} />;
  if (!d.data) return <p class="muted">Loading…</p>;
  const { m, s } = d.data;
  const end = (e: typeof m.source_instance) => (e ? [e.name, e.id, e.addrs ?? (e.ip ? `${e.ip}:${e.port}` : null)].filter(Boolean).join(' · ') : '—');
  const rows: [string, string][] = [
    ['Source', end(m.source_instance)],
    ['Target', end(m.target_instance)],
    ['Type', `${m.migration_type}, ${METHOD[m.migration_method] ?? m.migration_method}`],
    ['Resume after a restart', m.resume_mode === 'manual' ? 'manual (fails, restart it)' : 'auto (from the saved cursor)'],
    ['Bandwidth limit', m.bandwidth_limit_mb ? `${m.bandwidth_limit_mb} MB/s` : 'none'],
    ['Keys', `${s.source_dbsize} on the source, ${s.target_dbsize} on the target`],
    ['Target input', `${s.target_input_kbps} KB/s, ${s.target_ops} ops/s`],
    ['Updated', localTime(m.updated_at)],
  ];
  return (
    <div class="migration-detail">
      <div class="live"><ProgressBar value={Number(s.full_migration_progress) || 0} label="Full copy" />
        <span class="muted small">full copy {s.full_migration_progress}%{s.is_migrating ? ', copying' : ''}</span></div>
      <dl class="details">
        {rows.map(([k, v]) => <Fragment key={k}><dt>{k}</dt><dd data-field={k}>{v}</dd></Fragment>)}
      </dl>
    </div>
  );
}
