/**
 * The instance's operations (restart, flush, password, configuration, resize, replicas,
 * switchover, port). Each asks for what it needs and says what will happen before anything
 * starts; all are off, with the reason, while another task of the instance runs (DCS runs one
 * task per instance at a time and refuses a second with a state code).
 */
import { useState } from 'preact/hooks';
import type { ConsoleApi, Operation } from '../api';
import type { Instance, Task } from '../types';
import { taskLabel } from '../taskNames';
import { ConfirmDialog } from './ConfirmDialog';

interface Field { name: string; label: string; type?: 'password' | 'number' | 'text' | 'select'; options?: string[] }

interface OpDef {
  label: string;
  task: string;
  /** What will happen, in the dialog. */
  says(i: Instance): string;
  fields?: (i: Instance) => Field[];
  /** The operation, or what is wrong with the values (shown in the dialog; nothing is sent). */
  build(v: Record<string, string>, i: Instance): Operation | string;
  /** Why this operation does not apply to this instance, if it does not. */
  notFor?(i: Instance): string | null;
}

const replicas = (i: Instance) => i.nodes.filter((n) => n.role === 'replica').map((n) => n.name);
const managedOnly = (i: Instance) => (i.attached ? 'Only managed instances can be restarted.' : null);

const OPS: OpDef[] = [
  { label: 'Restart', task: 'restartInstance', notFor: managedOnly, build: () => ({ kind: 'restart' }),
    says: (i) => `Every redis-server of ${i.name} stops and starts again; clients are disconnected for a moment. Data is kept (AOF).` },
  { label: 'Soft restart', task: 'softRestartInstance', notFor: managedOnly, build: () => ({ kind: 'soft_restart' }),
    says: (i) => `Only the redis-server processes of ${i.name} are restarted; data is kept.` },
  { label: 'Flush', task: 'flushInstance', build: () => ({ kind: 'flush' }),
    says: (i) => `All data of ${i.name} is deleted (FLUSHALL). This cannot be undone.` },
  { label: 'Change password', task: 'modify',
    fields: (i) => [...(i.no_password_access === 'true' ? [] : [{ name: 'old', label: 'Current password', type: 'password' as const }]), { name: 'new', label: 'New password', type: 'password' }],
    build: (v) => (v.new ? { kind: 'password', old_password: v.old || null, new_password: v.new } : 'Enter the new password.'),
    says: (i) => `The password of ${i.name} changes on every node; clients must use the new one.` },
  { label: 'Change configuration', task: 'modifyConfigs',
    fields: () => [{ name: 'name', label: 'Parameter', type: 'text' }, { name: 'value', label: 'Value', type: 'text' }],
    build: (v) => (v.name && v.value !== undefined && v.value !== '' ? { kind: 'config', param_name: v.name.trim(), param_value: v.value.trim() } : 'Enter a parameter and its value.'),
    says: (i) => `CONFIG SET on every node of ${i.name}; the value is kept and re-applied after every restart.` },
  { label: 'Resize', task: 'EXTEND',
    fields: (i) => [{ name: 'capacity', label: `New capacity in GB (now ${i.capacity_minor || i.capacity})`, type: 'number' }],
    build: (v) => (Number(v.capacity) > 0 ? { kind: 'resize', new_capacity: Number(v.capacity) } : 'Enter a capacity in GB, e.g. 0.25.'),
    says: (i) => `maxmemory of every node of ${i.name} changes; refused in the task if the data in use does not fit.` },
  { label: 'Add replica', task: 'AddReplica', notFor: managedOnly, build: () => ({ kind: 'add_replica' }),
    says: (i) => `A replica redis-server starts and follows the master of ${i.name} until it has caught up.` },
  { label: 'Remove replica', task: 'DelReplica',
    notFor: (i) => (replicas(i).length ? null : 'The instance has no replica.'),
    fields: (i) => [{ name: 'node', label: 'Replica', type: 'select', options: replicas(i) }],
    build: (v) => (v.node ? { kind: 'remove_replica', node: v.node } : 'Choose a replica.'),
    says: (i) => `The replica stops and is removed from ${i.name}.` },
  { label: 'Switchover', task: 'masterStandbySwapJob', build: () => ({ kind: 'swap' }),
    notFor: (i) => (replicas(i).length ? null : 'A switchover needs a replica.'),
    says: (i) => `Writes to ${i.name} pause until the standby has caught up; the standby becomes the master on port ${i.port}.` },
  { label: 'Change port', task: 'UpdatePort', notFor: managedOnly,
    fields: (i) => [{ name: 'port', label: `New port (now ${i.port})`, type: 'number' }],
    build: (v, i) => {
      if (!(/^\d+$/.test(v.port ?? '') && +v.port! >= 1024 && +v.port! <= 65535)) return 'Enter a port from 1024 to 65535.';
      // The service starts no task for the port the instance is on: say so, not "started".
      return +v.port! === i.port ? `${i.name} is on port ${i.port} already: enter another port.` : { kind: 'port', port: +v.port! };
    },
    says: (i) => `The master of ${i.name} moves to the new port (the old one closes); replicas follow. Clients must use the new port.` },
];

export function Operations({ api, instance, running, unavailable, onStarted }: {
  api: ConsoleApi; instance: Instance; running: Task | null; unavailable: string | null; onStarted(label: string): void;
}) {
  const [open, setOpen] = useState<OpDef | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const blocked = unavailable
    ?? (running ? `${taskLabel(running.name)} (${running.name}) is ${running.status}: one task per instance at a time.` : null);

  const start = async () => {
    const op = open!.build(values, instance);
    if (typeof op === 'string') return setError(new Error(op));
    setBusy(true);
    try {
      await api.operate(instance.instance_id, op);
      setOpen(null);
      onStarted(open!.label);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const close = () => { setOpen(null); setError(null); };

  return (
    <div class="operations">
      <div class="op-buttons" role="group" aria-label="Operations">
        {OPS.map((o) => {
          const why = blocked ?? o.notFor?.(instance) ?? null;
          return (
            <button type="button" class="btn btn-small" disabled={why !== null} title={why ?? `${o.label} (${o.task})`}
              onClick={() => { setValues({}); setError(null); setOpen(o); }}>
              {o.label}
            </button>
          );
        })}
      </div>
      {blocked && <p class="muted small op-reason" role="note">{blocked}</p>}
      {open && (
        <ConfirmDialog title={`${open.label}: ${instance.name}`} confirmLabel={open.label} busyLabel="Starting…" busy={busy} error={error}
          retry onConfirm={start} onCancel={close}>
          <p>{open.says(instance)}</p>
          <p class="muted">Starts the background task <span class="mono">{open.task}</span>; it shows in the list at once.</p>
          {open.fields?.(instance).map((f) => (
            <label class="field" key={f.name}>{f.label}
              {f.type === 'select'
                ? <select name={f.name} onChange={(e) => setValues({ ...values, [f.name]: (e.target as HTMLSelectElement).value })}>
                    <option value="">choose…</option>
                    {f.options!.map((x) => <option value={x}>{x}</option>)}
                  </select>
                : <input {...({ name: f.name, type: f.type ?? 'text', autocomplete: 'off' } as Record<string, string>)}
                    onInput={(e) => setValues({ ...values, [f.name]: (e.target as HTMLInputElement).value })} />}
            </label>
          ))}
        </ConfirmDialog>
      )}
    </div>
  );
}
