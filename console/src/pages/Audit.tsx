/** The deletion audit (GET /task-audit): who deleted which task, when, with which message. */
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleApi } from '../api';
import type { TaskAudit } from '../types';
import { localTime } from '../format';
import { href, intParam, setHash, type Query } from '../router';
import { taskLabel } from '../taskNames';
import { ErrorMessage } from '../components/ErrorMessage';
import { Pager } from '../components/Pager';
import { StatusBadge } from '../components/StatusBadge';

export function Audit({ api, query }: { api: ConsoleApi; query: Query }) {
  const offset = intParam(query, 'offset', 0);
  const limit = intParam(query, 'limit', 10);
  const [page, setPage] = useState<{ total: number; audits: TaskAudit[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let alive = true;
    api.listAudit({ offset, limit }).then(
      (p) => alive && (setPage(p), setError(null)),
      (e) => alive && (setPage(null), setError(e)),
    );
    return () => { alive = false; };
  }, [api, offset, limit, generation]);

  return (
    <section>
      <div class="page-head">
        <h1>Deletion audit</h1>
        <button type="button" class="btn" onClick={() => setGeneration((g) => g + 1)}>Refresh</button>
      </div>
      <p class="muted">Every deleted task: who deleted it, when, and the message given with the delete (newest first).</p>
      {error ? <ErrorMessage error={error} /> : (
        <table class="table table-cards audit">
          <thead><tr><th>Deleted</th><th>Task</th><th>Last status</th><th>Instance</th><th>Deleted by</th><th>Message</th></tr></thead>
          <tbody>
            {page === null && <tr><td colSpan={6} class="empty">Loading…</td></tr>}
            {page?.audits.length === 0 && <tr><td colSpan={6} class="empty">No task has been deleted in this project.</td></tr>}
            {page?.audits.map((a) => (
              <tr key={a.task_id} data-task-id={a.task_id}>
                <td class="nowrap" data-label="Deleted">{localTime(a.deleted_at)}</td>
                <td data-label="Task">
                  <div class="task-name">{taskLabel(a.task_name)} <span class="mono muted raw-name">{a.task_name}</span></div>
                  <div class="mono muted">{a.task_id}</div>
                </td>
                <td data-label="Last status"><StatusBadge status={a.last_status} /></td>
                <td class="mono" data-label="Instance">{a.instance_id}</td>
                <td data-label="Deleted by">{a.user_name} <div class="mono muted small">{a.user_id}</div></td>
                <td data-label="Message">{a.message || <span class="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager offset={offset} limit={limit} total={page?.total ?? 0}
        onChange={(o, l) => setHash(href.audit({ offset: o ? String(o) : '', limit: l !== 10 ? String(l) : '' }))} />
    </section>
  );
}
