/** The project's instances; a name opens the instance page. */
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleApi } from '../api';
import type { Instance } from '../types';
import { localTime } from '../format';
import { href } from '../router';
import { ErrorMessage } from '../components/ErrorMessage';
import { StatusBadge } from '../components/StatusBadge';
import { RefreshControl } from '../components/RefreshControl';
import { REFRESH_MS, useAutoRefresh } from '../autoRefresh';

export function Instances({ api }: { api: ConsoleApi }) {
  const [list, setList] = useState<Instance[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const auto = useAutoRefresh();
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () => api.listInstances().then(
      (l) => { if (alive) { setList(l); setError(null); setUpdatedAt(Date.now()); } },
      (e) => { if (alive) { setList(null); setError(e); } },
    ).finally(() => { if (alive && auto) timer = setTimeout(run, REFRESH_MS); });
    void run();
    return () => { alive = false; clearTimeout(timer); };
  }, [api, generation, auto]);

  return (
    <section>
      <div class="page-head">
        <h1>Instances</h1>
        <RefreshControl updatedAt={updatedAt} reload={() => setGeneration((g) => g + 1)} />
      </div>
      {error ? <ErrorMessage error={error} /> : (
      <table class="table table-cards">
        <thead><tr><th>Name</th><th>Status</th><th>Engine</th><th>Capacity</th><th>Address</th><th>Created</th></tr></thead>
        <tbody>
          {list === null && <tr><td colSpan={6} class="empty">Loading…</td></tr>}
          {list?.length === 0 && <tr><td colSpan={6} class="empty">No instances in this project.</td></tr>}
          {list?.map((i) => (
            <tr key={i.instance_id} data-instance-id={i.instance_id}>
              <td>
                <a href={href.instance(i.instance_id)} class="task-name">{i.name}</a>
                <div class="mono muted">{i.instance_id}</div>
              </td>
              <td data-label="Status"><StatusBadge status={i.status} /></td>
              <td data-label="Engine">{i.engine} {i.engine_version}</td>
              <td data-label="Capacity">{i.capacity_minor || i.capacity} GB</td>
              <td class="mono" data-label="Address">{i.ip}:{i.port}</td>
              <td data-label="Created">{localTime(i.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      )}
    </section>
  );
}
