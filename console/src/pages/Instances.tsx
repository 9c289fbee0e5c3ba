/** The project's instances; a name opens the instance page. */
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleApi } from '../api';
import type { Instance } from '../types';
import { localTime } from '../format';
import { href } from '../router';
import { ErrorMessage } from '../components/ErrorMessage';
import { StatusBadge } from '../components/StatusBadge';

export function Instances({ api }: { api: ConsoleApi }) {
  const [list, setList] = useState<Instance[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let alive = true;
    api.listInstances().then((l) => alive && (setList(l), setError(null)), (e) => alive && setError(e));
    return () => { alive = false; };
  }, [api, generation]);

  return (
    <section>
      <div class="page-head">
        <h1>Instances</h1>
        <button type="button" class="btn" onClick={() => setGeneration((g) => g + 1)}>Refresh</button>
      </div>
      <ErrorMessage error={error} />
      <table class="table">
        <thead><tr><th>Name</th><th>Status</th><th>Engine</th><th>Capacity</th><th>Address</th><th>Created</th></tr></thead>
        <tbody>
          {list === null && !error && <tr><td colSpan={6} class="empty">Loading…</td></tr>}
          {list?.length === 0 && <tr><td colSpan={6} class="empty">No instances in this project.</td></tr>}
          {list?.map((i) => (
            <tr key={i.instance_id} data-instance-id={i.instance_id}>
              <td>
                <a href={href.instance(i.instance_id)} class="task-name">{i.name}</a>
                <div class="mono muted">{i.instance_id}</div>
              </td>
              <td><StatusBadge status={i.status} /></td>
              <td>{i.engine} {i.engine_version}</td>
              <td>{i.capacity} GB</td>
              <td class="mono">{i.ip}:{i.port}</td>
              <td>{localTime(i.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
