/**
 * A confirmed action (create a backup, restore, delete, stop a migration …): the dialog says
 * what will happen and asks for the action's fields; the action runs on confirm with their
 * values; a refusal stays in the dialog with its code and request id; success closes it and
 * reports what happened.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ConfirmDialog } from './ConfirmDialog';

export interface ActionField {
  name: string;
  label: string;
  /** A select's choices (the first is the default); a text input without them. */
  options?: string[];
}

export interface Action {
  title: string;
  body: ComponentChildren;
  confirmLabel: string;
  busyLabel?: string;
  fields?: ActionField[];
  /** Resolves to the notice shown after it (e.g. "Backup … started."). */
  run(values: Record<string, string>): Promise<string>;
}

export function ActionDialog({ action, onClose, onDone }: { action: Action; onClose(): void; onDone(notice: string): void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries((action.fields ?? []).map((f) => [f.name, f.options?.[0] ?? ''])));
  const set = (name: string) => (e: Event) => setValues({ ...values, [name]: (e.target as HTMLInputElement | HTMLSelectElement).value });
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      onDone(await action.run(values));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <ConfirmDialog title={action.title} confirmLabel={action.confirmLabel} busyLabel={action.busyLabel ?? 'Working…'} busy={busy}
      error={error} retry onConfirm={confirm} onCancel={onClose}>
      {action.body}
      {action.fields?.map((f) => (
        <label class="field" key={f.name}>{f.label}
          {f.options
            ? <select name={f.name} value={values[f.name]} onChange={set(f.name)}>{f.options.map((o) => <option value={o}>{o}</option>)}</select>
            : <input name={f.name} type="text" autocomplete="off" value={values[f.name]} onInput={set(f.name)} />}
        </label>
      ))}
    </ConfirmDialog>
  );
}

/** A dismissible green line saying what just happened. */
export function Notice({ text, onDismiss }: { text: string; onDismiss(): void }) {
  if (!text) return null;
  return <div class="notice" role="status">{text} <button type="button" class="link" onClick={onDismiss}>Dismiss</button></div>;
}
