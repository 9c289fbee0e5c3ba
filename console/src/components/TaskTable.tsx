/**
 * The background-task table shared by the instance tab and the task centre: status with a live
 * progress bar, user, times, expandable steps, and Delete behind a confirmation dialog.
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { isRunning, type Progress, type Task } from '../types';
import { duration, localTime } from '../format';
import { href } from '../router';
import type { LiveTasks } from '../useTaskPage';
import { ConfirmDialog } from './ConfirmDialog';
import { ErrorMessage } from './ErrorMessage';
import { ProgressBar } from './ProgressBar';
import { StatusBadge } from './StatusBadge';
import { StepDetails } from './StepDetails';
import { taskLabel } from '../taskNames';

/** Why Delete is off for an unfinished task (the API would answer DCS.4017). */
export const RUNNING_REASON = 'A running task cannot be deleted (DCS.4017): wait until it is SUCCESS or FAILED.';

interface Props {
  live: LiveTasks;
  showInstance?: boolean;
  progressOf(t: Task): Promise<Progress> | null;
  remove(t: Task): Promise<void>;
}

export function TaskTable({ live, showInstance = false, progressOf, remove }: Props) {
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState<Task | null>(null);
  const [busy, setBusy] = useState(false);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');

  const toggle = (id: string) => setExpanded((s) => {
    const n = new Set(s);
    if (!n.delete(id)) n.add(id);
    return n;
  });
  const closeDialog = () => {
    // After a failed delete the list may be stale (another client deleted the task): refresh it.
    if (deleteError) live.reload();
    setConfirming(null);
    setDeleteError(null);
  };
  const confirm = async () => {
    const t = confirming!;
    setBusy(true);
    try {
      await remove(t);
      setConfirming(null);
      setNotice(`Task ${t.name} (${t.id}) was deleted.`);
      live.reload();
    } catch (e) {
      setDeleteError(e);
    } finally {
      setBusy(false);
    }
  };

  const { page, error, progress, failReasons } = live;
  const cols = showInstance ? 8 : 7;
  return (
    <div class="tasks">
      {notice && <div class="notice" role="status">{notice} <button type="button" class="link" onClick={() => setNotice('')}>Dismiss</button></div>}
      {/* A failed load replaces the rows: what is shown is never older than the error. */}
      {error ? <ErrorMessage error={error} /> : (
      <table class="table table-cards">
        <thead>
          <tr>
            <th class="col-expand" aria-label="Steps" />
            <th>Task</th>
            {showInstance && <th>Instance</th>}
            <th>Status</th>
            <th>User</th>
            <th>Started</th>
            <th>Ended</th>
            <th class="col-actions">Actions</th>
          </tr>
        </thead>
        <tbody>
          {page === null && <tr><td colSpan={cols} class="empty">Loading…</td></tr>}
          {page?.tasks.length === 0 && <tr><td colSpan={cols} class="empty">No background tasks.</td></tr>}
          {page?.tasks.map((t) => {
            const running = isRunning(t.status);
            const p = progress[t.id];
            const open = expanded.has(t.id);
            return (
              <Fragment key={t.id}>
                <tr data-task-id={t.id} data-status={t.status}>
                  <td class="col-expand">
                    {t.enable_show && (
                      <button type="button" class="expander" aria-expanded={open} aria-label={`${open ? 'Hide' : 'Show'} steps of ${t.name}`} onClick={() => toggle(t.id)}>
                        {open ? '▾' : '▸'}
                      </button>
                    )}
                  </td>
                  <td data-label="Task">
                    <div class="task-name">{taskLabel(t.name)} <span class="mono muted raw-name">{t.name}</span></div>
                    <div class="mono muted">{t.id}</div>
                  </td>
                  {showInstance && (
                    <td class="nowrap" data-label="Instance">
                      {t.instance_id ? <a href={href.instance(t.instance_id, 'tasks')}>{t.instance_name ?? t.instance_id}</a> : '—'}
                    </td>
                  )}
                  <td class="col-status" data-label="Status">
                    <StatusBadge status={t.status} />
                    {running && (
                      <div class="live">
                        <ProgressBar value={p?.progress ?? 0} />
                        {p && p.remain_time > 0 && <span class="muted small">about {duration(p.remain_time)} left</span>}
                      </div>
                    )}
                    {t.status === 'FAILED' && <FailReason code={t.error_code} reason={failReasons[t.id]} />}
                  </td>
                  <td data-label="User">{t.user_name}</td>
                  <td class="nowrap" data-label="Started">{localTime(t.created_at)}</td>
                  <td class="nowrap" data-label="Ended">{running ? '—' : localTime(t.updated_at)}</td>
                  <td class="col-actions">
                    <button
                      type="button" class="btn btn-small btn-danger-outline" disabled={running}
                      title={running ? RUNNING_REASON : `Delete task ${t.name}`}
                      onClick={() => { setNotice(''); setDeleteError(null); setConfirming(t); }}
                    >
                      Delete
                    </button>
                    {running && <div class="delete-reason small muted">{RUNNING_REASON}</div>}
                  </td>
                </tr>
                {open && (
                  <tr class="steps-row">
                    <td />
                    <td colSpan={cols - 1}>
                      {t.status === 'FAILED' && <FailReason code={t.error_code} reason={failReasons[t.id]} />}
                      <StepDetails load={() => progressOf(t) ?? Promise.reject(new Error('No instance for this task.'))} live={running} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
      )}
      {confirming && (
        <ConfirmDialog title="Delete background task" confirmLabel="Delete" busy={busy} error={deleteError} onConfirm={confirm} onCancel={closeDialog}>
          <p>
            Delete the task <strong>{taskLabel(confirming.name)}</strong> ({confirming.name}) <span class="mono">{confirming.id}</span>
            {confirming.instance_name ? <> of instance <strong>{confirming.instance_name}</strong></> : null}?
          </p>
          <p class="muted">The task disappears from the instance's list and the task centre. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** Why a task failed: its error code and the job's fail_reason (what state the instance is in). */
function FailReason({ code, reason }: { code?: string | null; reason?: string }) {
  if (!code && !reason) return null;
  return <div class="fail-reason small">{[code, reason].filter(Boolean).join(': ')}</div>;
}
