/**
 * Backups & Restores of one instance (records.md): the backups with live status until they
 * finish, create (rdb/aof, remark), download, restore from a succeeded backup, delete; and the
 * restores. Every change asks first; a refusal shows the API's code in the dialog.
 */
import { useState } from 'preact/hooks';
import type { ConsoleApi } from '../api';
import type { Backup, Instance, Restore } from '../types';
import { localTime } from '../format';
import { useLive } from '../useLive';
import { ActionDialog, Notice, type Action } from '../components/ActionDialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Pager } from '../components/Pager';
import { RefreshControl } from '../components/RefreshControl';
import { StatusBadge } from '../components/StatusBadge';

const backupRunning = (b: Backup) => b.status === 'waiting' || b.status === 'backuping';
const restoreRunning = (r: Restore) => r.status === 'waiting' || r.status === 'restoring';
/** Why Delete is off for an unfinished backup (the API would answer DCS.4017). */
export const BACKUP_RUNNING_REASON = 'A backup in progress cannot be deleted (DCS.4017): wait until it is succeed or failed.';

function size(bytes: number | null): string {
  if (bytes === null) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function BackupsTab({ api, instance, onChanged }: { api: ConsoleApi; instance: Instance; onChanged(): void }) {
  const id = instance.instance_id;
  const [offset, setOffset] = useState(0);
  const [limit, setLimit] = useState(10);
  const [rOffset, setROffset] = useState(0);
  const [action, setAction] = useState<Action | null>(null);
  const [notice, setNotice] = useState('');
  const backups = useLive(() => api.records.listBackups(id, { offset, limit }), (p) => p.backups.some(backupRunning), [api, id, offset, limit]);
  const restores = useLive(() => api.records.listRestores(id, { offset: rOffset, limit: 10 }), (p) => p.restores.some(restoreRunning), [api, id, rOffset]);
  const reload = () => { backups.reload(); restores.reload(); onChanged(); };

  const create: Action = {
    title: `Create a backup of ${instance.name}`,
    confirmLabel: 'Create backup',
    busyLabel: 'Starting…',
    body: (
      <>
        <p>The master of <strong>{instance.name}</strong> saves its data (BGSAVE for rdb, BGREWRITEAOF for aof) and the file is copied into the service's data directory.</p>
        <p class="muted">While the backup runs, the instance's operations and restores wait (one task per instance).</p>
      </>
    ),
    fields: [{ name: 'backup_format', label: 'Format', options: ['rdb', 'aof'] }, { name: 'remark', label: 'Remark (optional, up to 128 characters)' }],
    run: async (v) => `Backup ${await api.records.createBackup(id, v.backup_format as 'rdb' | 'aof', v.remark ?? '')} started.`,
  };

  const restore = (b: Backup): Action => ({
    title: `Restore ${instance.name} from a backup`,
    confirmLabel: 'Restore',
    busyLabel: 'Starting…',
    body: (
      <>
        <p>The data of <strong>{instance.name}</strong> is <strong>replaced</strong> by the backup <span class="mono">{b.backup_name}</span> of {localTime(b.created_at)}: keys written since are gone, keys deleted since come back.</p>
        <p class="muted">The instance is RESTORING meanwhile: its redis-server stops and starts on the backup's data. This cannot be undone.</p>
      </>
    ),
    fields: [{ name: 'restore_remark', label: 'Remark (optional)' }],
    run: async (v) => `Restore ${await api.records.restore(id, b.backup_id, v.restore_remark ?? '')} started from ${b.backup_name}.`,
  });

  const remove = (b: Backup): Action => ({
    title: 'Delete backup',
    confirmLabel: 'Delete',
    busyLabel: 'Deleting…',
    body: (
      <>
        <p>Delete the backup <span class="mono">{b.backup_name}</span> ({b.backup_format}, {size(b.size)}) of <strong>{instance.name}</strong>?</p>
        <p class="muted">The file is removed; the record stays in the list as deleted. It can no longer be restored or downloaded.</p>
      </>
    ),
    run: async () => { await api.records.deleteBackup(id, b.backup_id); return `Backup ${b.backup_name} was deleted.`; },
  });

  // A signed link (an hour) fetched on demand: the file is served without the console's credentials.
  const [linkError, setLinkError] = useState<unknown>(null);
  const download = async (b: Backup) => {
    setNotice('');
    setLinkError(null);
    try {
      location.assign(await api.records.downloadLink(id, b.backup_id));
    } catch (e) {
      setLinkError(e);
    }
  };

  return (
    <div class="records">
      <Notice text={notice} onDismiss={() => setNotice('')} />
      <ErrorMessage error={linkError} />
      <div class="toolbar">
        <h2 class="section-title">Backups</h2>
        <button type="button" class="btn btn-primary btn-small" onClick={() => { setNotice(''); setAction(create); }}>Create backup</button>
        <RefreshControl updatedAt={backups.updatedAt} reload={reload} />
      </div>
      {backups.error ? <ErrorMessage error={backups.error} /> : (
        <table class="table table-cards">
          <thead><tr><th>Backup</th><th>Status</th><th>Format</th><th>Size</th><th>Created</th><th>Remark</th><th class="col-actions">Actions</th></tr></thead>
          <tbody>
            {backups.data === null && <tr><td colSpan={7} class="empty">Loading…</td></tr>}
            {backups.data?.backups.length === 0 && <tr><td colSpan={7} class="empty">No backups of this instance.</td></tr>}
            {backups.data?.backups.map((b) => {
              const running = backupRunning(b);
              return (
                <tr key={b.backup_id} data-backup-id={b.backup_id} data-status={b.status}>
                  <td data-label="Backup"><div class="task-name">{b.backup_name}</div><div class="mono muted">{b.backup_id}</div>
                    <div class="muted small">{b.backup_type === 'auto' ? 'automatic' : 'manual'}</div></td>
                  <td data-label="Status"><StatusBadge status={b.status} />
                    {running && <div class="muted small">{b.progress}%</div>}
                    {b.status === 'failed' && b.error_code && <div class="fail-reason small">{b.error_code}</div>}</td>
                  <td data-label="Format" class="mono">{b.backup_format}</td>
                  <td data-label="Size">{size(b.size)}</td>
                  <td class="nowrap" data-label="Created">{localTime(b.created_at)}</td>
                  <td data-label="Remark">{b.remark || <span class="muted">—</span>}</td>
                  <td class="col-actions row-actions">
                    {b.status === 'succeed' && <button type="button" class="btn btn-small" onClick={() => void download(b)}>Download</button>}
                    {b.status === 'succeed' && b.is_support_restore === 'TRUE' && (
                      <button type="button" class="btn btn-small" onClick={() => { setNotice(''); setAction(restore(b)); }}>Restore</button>
                    )}
                    {b.status !== 'deleted' && b.status !== 'expired' && (
                      <button type="button" class="btn btn-small btn-danger-outline" disabled={running} title={running ? BACKUP_RUNNING_REASON : `Delete backup ${b.backup_name}`}
                        onClick={() => { setNotice(''); setAction(remove(b)); }}>Delete</button>
                    )}
                    {running && <div class="delete-reason small muted">{BACKUP_RUNNING_REASON}</div>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <Pager offset={offset} limit={limit} total={backups.data?.total ?? 0} onChange={(o, l) => { setOffset(o); setLimit(l); }} />

      <div class="toolbar section-gap"><h2 class="section-title">Restores</h2></div>
      {restores.error ? <ErrorMessage error={restores.error} /> : (
        <table class="table table-cards">
          <thead><tr><th>Restore</th><th>Status</th><th>From backup</th><th>Started</th><th>Updated</th><th>Remark</th></tr></thead>
          <tbody>
            {restores.data === null && <tr><td colSpan={6} class="empty">Loading…</td></tr>}
            {restores.data?.restores.length === 0 && <tr><td colSpan={6} class="empty">No restores of this instance.</td></tr>}
            {restores.data?.restores.map((r) => (
              <tr key={r.restore_id} data-restore-id={r.restore_id} data-status={r.status}>
                <td data-label="Restore"><div class="task-name">{r.restore_name}</div><div class="mono muted">{r.restore_id}</div></td>
                <td data-label="Status"><StatusBadge status={r.status} />
                  {restoreRunning(r) && <div class="muted small">{r.progress}%</div>}
                  {r.status === 'failed' && r.error_code && <div class="fail-reason small">{r.error_code}</div>}</td>
                <td data-label="From backup"><span class="mono">{r.backup_name}</span><div class="mono muted">{r.backup_id}</div></td>
                <td class="nowrap" data-label="Started">{localTime(r.created_at)}</td>
                <td class="nowrap" data-label="Updated">{localTime(r.updated_at)}</td>
                <td data-label="Remark">{r.restore_remark || <span class="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager offset={rOffset} limit={10} total={restores.data?.total ?? 0} onChange={(o) => setROffset(o)} />

      {action && <ActionDialog action={action} onClose={() => setAction(null)} onDone={(n) => { setAction(null); setNotice(n); reload(); }} />}
    </div>
  );
}
