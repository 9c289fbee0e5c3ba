/**
 * A modal confirmation (the native <dialog>: focus trap and Escape come with it). A failure of
 * the confirmed action is shown inside the dialog, next to what the user just tried.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ErrorMessage } from './ErrorMessage';

interface Props {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  busy: boolean;
  /** The confirm button's text while busy (default "Deleting…"). */
  busyLabel?: string;
  error: unknown;
  /** After an error, keep the confirm button (the user can correct a field and try again). */
  retry?: boolean;
  onConfirm(): void;
  onCancel(): void;
}

export function ConfirmDialog(p: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    // The button that opened the dialog gets the focus back when it closes (a keyboard user
    // goes on from there, not from the top of the page), if it is still on the page.
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      d?.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="dialog-title" onCancel={(e) => { e.preventDefault(); p.onCancel(); }}>
      {/* A form, so that Enter in a field confirms (the confirm button is its default button:
          disabled or absent, Enter does nothing); Enter on the focused Cancel still cancels. */}
      <form onSubmit={(e) => { e.preventDefault(); if (!p.busy && (!p.error || p.retry)) p.onConfirm(); }}>
        <h2 id="dialog-title">{p.title}</h2>
        <div class="dialog-body">{p.children}</div>
        <ErrorMessage error={p.error} />
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={p.onCancel} disabled={p.busy}>{p.error && !p.retry ? 'Close' : 'Cancel'}</button>
          {(!p.error || p.retry) && (
            <button type="submit" class="btn btn-danger" disabled={p.busy}>{p.busy ? (p.busyLabel ?? 'Deleting…') : p.confirmLabel}</button>
          )}
        </div>
      </form>
    </dialog>
  );
}
