/**
 * Cache Analysis of one instance (records.md): big-key and hot-key analyses (start, live list,
 * the keys found, delete) and expired-key scans (start, history). Scans block no other task;
 * each kind runs once at a time (a second is refused with the API's code, shown in the dialog).
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import type { ConsoleApi } from '../api';
import type { ExpireScan, Instance, KeyAnalysisEntry, KeyAnalysisKind } from '../types';
import { localTime } from '../format';
import { useLive } from '../useLive';
import { ActionDialog, Notice, type Action } from '../components/ActionDialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { RefreshControl } from '../components/RefreshControl';
import { StatusBadge } from '../components/StatusBadge';

const scanRunning = (s: { status: string }) => s.status === 'waiting' || s.status === 'running';
/** Why Delete is off for an analysis in flight (the API would answer DCS.4017). */
export const ANALYSIS_RUNNING_REASON = 'An analysis in progress cannot be deleted (DCS.4017): wait until it is success or failed.';
const PAGE = { offset: 0, limit: 20 };

const KINDS: Record<KeyAnalysisKind, { title: string; says: string }> = {
  bigkey: {
    title: 'Big keys',
    says: 'Every database is walked with SCAN; each key\'s TYPE and size are read, and the 20 largest of each type are kept.',
  },
  hotkey: {
    title: 'Hot keys',
    says: 'Every database is walked with SCAN; each key\'s access frequency (OBJECT FREQ) is read and the 100 hottest are kept. Needs an LFU maxmemory-policy.',
  },
};

export function AnalysisTab({ api, instance }: { api: ConsoleApi; instance: Instance }) {
  const [action, setAction] = useState<Action | null>(null);
  const [notice, setNotice] = useState('');
  const [generation, setGeneration] = useState(0);
  const ask = (a: Action) => { setNotice(''); setAction(a); };
  return (
    <div class="records">
      <Notice text={notice} onDismiss={() => setNotice('')} />
      <KeyAnalyses key={`b${generation}`} kind="bigkey" api={api} instance={instance} ask={ask} />
      <KeyAnalyses key={`h${generation}`} kind="hotkey" api={api} instance={instance} ask={ask} />
      <ExpireScans key={`e${generation}`} api={api} instance={instance} ask={ask} />
      {action && <ActionDialog action={action} onClose={() => setAction(null)} onDone={(n) => { setAction(null); setNotice(n); setGeneration((g) => g + 1); }} />}
    </div>
  );
}

interface SectionProps { api: ConsoleApi; instance: Instance; ask(a: Action): void }

function KeyAnalyses({ kind, api, instance, ask }: SectionProps & { kind: KeyAnalysisKind }) {
  const id = instance.instance_id;
  const { title, says } = KINDS[kind];
  const [open, setOpen] = useState<string | null>(null);
  const live = useLive(() => api.records.listAnalyses(kind, id, PAGE), (p) => p.records.some(scanRunning), [api, id, kind]);
  const start: Action = {
    title: `${title}: analyse ${instance.name}`,
    confirmLabel: 'Start analysis',
    busyLabel: 'Starting…',
    body: <><p>{says}</p><p class="muted">Keys are only read. The analysis runs beside other tasks of the instance.</p></>,
    run: async () => `${title} analysis ${(await api.records.startAnalysis(kind, id)).id} started.`,
  };
  const remove = (a: KeyAnalysisEntry): Action => ({
    title: `Delete ${title.toLowerCase()} analysis`,
    confirmLabel: 'Delete',
    busyLabel: 'Deleting…',
    body: <p>Delete the analysis <span class="mono">{a.id}</span> of {localTime(a.created_at)} and the keys it found? Redis is not touched.</p>,
    run: async () => { await api.records.deleteAnalysis(kind, id, a.id); return `Analysis ${a.id} was deleted.`; },
  });
  const cols = 6;
  return (
    <section class="record-section" data-kind={kind}>
      <div class="toolbar">
        <h2 class="section-title">{title}</h2>
        <button type="button" class="btn btn-primary btn-small" onClick={() => ask(start)}>Start {title.toLowerCase()} analysis</button>
        <RefreshControl updatedAt={live.updatedAt} reload={live.reload} />
      </div>
      {live.error ? <ErrorMessage error={live.error} /> : (
        <table class="table table-cards">
          <thead><tr><th class="col-expand" aria-label="Keys" /><th>Analysis</th><th>Status</th><th>Started</th><th>Finished</th><th class="col-actions">Actions</th></tr></thead>
          <tbody>
            {live.data === null && <tr><td colSpan={cols} class="empty">Loading…</td></tr>}
            {live.data?.records.length === 0 && <tr><td colSpan={cols} class="empty">No {title.toLowerCase()} analyses yet.</td></tr>}
            {live.data?.records.map((a) => {
              const running = scanRunning(a);
              const shown = open === a.id;
              return (
                <Fragment key={a.id}>
                  <tr data-analysis-id={a.id} data-status={a.status}>
                    <td class="col-expand">
                      {a.status !== 'waiting' && a.status !== 'running' && (
                        <button type="button" class="expander" aria-expanded={shown} aria-label={`${shown ? 'Hide' : 'Show'} keys of ${a.id}`} onClick={() => setOpen(shown ? null : a.id)}>
                          {shown ? '▾' : '▸'}
                        </button>
                      )}
                    </td>
                    <td data-label="Analysis"><div class="mono">{a.id}</div><div class="muted small">{a.scan_type === 'auto' ? 'scheduled' : 'manual'}</div></td>
                    <td data-label="Status"><StatusBadge status={a.status} /></td>
                    <td class="nowrap" data-label="Started">{localTime(a.started_at ?? a.created_at)}</td>
                    <td class="nowrap" data-label="Finished">{localTime(a.finished_at)}</td>
                    <td class="col-actions">
                      <button type="button" class="btn btn-small btn-danger-outline" disabled={running}
                        title={running ? ANALYSIS_RUNNING_REASON : `Delete analysis ${a.id}`} onClick={() => ask(remove(a))}>Delete</button>
                      {running && <div class="delete-reason small muted">{ANALYSIS_RUNNING_REASON}</div>}
                    </td>
                  </tr>
                  {shown && <tr class="steps-row"><td /><td colSpan={cols - 1}><FoundKeys api={api} kind={kind} instanceId={id} analysisId={a.id} /></td></tr>}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The keys one finished analysis found (loaded when expanded; a finished record does not change). */
function FoundKeys({ api, kind, instanceId, analysisId }: { api: ConsoleApi; kind: KeyAnalysisKind; instanceId: string; analysisId: string }) {
  const live = useLive(() => api.records.getAnalysis(kind, instanceId, analysisId), () => false, [api, kind, instanceId, analysisId]);
  const a = live.data;
  if (live.error) return <ErrorMessage error={live.error} />;
  if (!a) return <p class="muted">Loading keys…</p>;
  if (a.status === 'failed') return <div class="fail-reason">{a.fail_reason ?? 'The analysis failed.'}</div>;
  if (!a.keys?.length) return <p class="muted">No keys found ({a.num} keys looked at).</p>;
  return (
    <table class="steps found-keys">
      <thead><tr><th>Key</th><th>Type</th><th>DB</th><th>{kind === 'hotkey' ? 'Frequency' : 'Size'}</th><th>Shard</th></tr></thead>
      <tbody>
        {a.keys.map((k) => (
          <tr key={`${k.db}/${k.name}`} data-key={k.name}>
            <td class="mono">{k.name}</td>
            <td>{k.type}</td>
            <td>{k.db}</td>
            <td>{kind === 'hotkey' ? k.freq : `${k.size} ${k.unit === 'byte' ? 'bytes' : 'elements'}`}</td>
            <td class="mono">{k.shard}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ExpireScans({ api, instance, ask }: SectionProps) {
  const id = instance.instance_id;
  const live = useLive(() => api.records.listExpireScans(id, PAGE), (p) => p.records.some(scanRunning), [api, id]);
  const start: Action = {
    title: `Expired keys: scan ${instance.name}`,
    confirmLabel: 'Start scan',
    busyLabel: 'Starting…',
    body: <><p>Every database is walked with SCAN; Redis deletes the keys whose TTL has passed as the scan visits them, releasing their memory.</p>
      <p class="muted">Keys that have not expired are not touched. The scan runs beside other tasks of the instance.</p></>,
    run: async () => { await api.records.startExpireScan(id); return 'Expired-key scan started.'; },
  };
  return (
    <section class="record-section" data-kind="expire">
      <div class="toolbar">
        <h2 class="section-title">Expired keys</h2>
        <button type="button" class="btn btn-primary btn-small" onClick={() => ask(start)}>Start expired-key scan</button>
        <RefreshControl updatedAt={live.updatedAt} reload={live.reload} />
      </div>
      {live.data && <p class="muted small">{live.data.total} scans released {live.data.released} expired keys in all.</p>}
      {live.error ? <ErrorMessage error={live.error} /> : (
        <table class="table table-cards">
          <thead><tr><th>Scan</th><th>Status</th><th>Keys released</th><th>Started</th><th>Finished</th></tr></thead>
          <tbody>
            {live.data === null && <tr><td colSpan={5} class="empty">Loading…</td></tr>}
            {live.data?.records.length === 0 && <tr><td colSpan={5} class="empty">No expired-key scans yet.</td></tr>}
            {live.data?.records.map((s: ExpireScan) => (
              <tr key={s.id} data-scan-id={s.id} data-status={s.status}>
                <td data-label="Scan"><div class="mono">{s.id}</div><div class="muted small">{s.scan_type === 'auto' ? 'scheduled' : 'manual'}</div></td>
                <td data-label="Status"><StatusBadge status={s.status} />{s.status === 'failed' && s.fail_reason && <div class="fail-reason small">{s.fail_reason}</div>}</td>
                <td data-label="Keys released">{scanRunning(s) ? '—' : s.num}</td>
                <td class="nowrap" data-label="Started">{localTime(s.started_at ?? s.created_at)}</td>
                <td class="nowrap" data-label="Finished">{localTime(s.finished_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
