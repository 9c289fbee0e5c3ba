/**
 * Sign-in: AK/SK or a token, the project, the endpoint (this page's origin by default).
 * Nothing typed here is stored anywhere but this tab's memory: a reload signs out.
 * The credentials are checked by one real call (list instances) before the console opens.
 */
import { useState } from 'preact/hooks';
import { connect, type ConsoleApi, type SignIn as Credentials } from '../api';
import { ErrorMessage } from '../components/ErrorMessage';

export interface Session {
  api: ConsoleApi;
  projectId: string;
  endpoint: string;
  /** Who is signed in, as shown in the header: the access key, or "token". */
  who: string;
}

/** `none`: a service started with --no-auth, which takes requests without credentials (loopback only). */
type Method = 'aksk' | 'token' | 'none';

export function SignIn({ onSignedIn }: { onSignedIn(s: Session): void }) {
  const [method, setMethod] = useState<Method>('aksk');
  const [endpoint, setEndpoint] = useState(location.origin);
  const [projectId, setProjectId] = useState('');
  const [accessKey, setAccessKey] = useState('');
  const [secretKey, setSecretKey] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const base = { endpoint: endpoint.trim(), projectId: projectId.trim() };
    const c: Credentials = method === 'aksk' ? { ...base, accessKey: accessKey.trim(), secretKey }
      : method === 'token' ? { ...base, token: token.trim() } : base;
    try {
      const api = connect(c);
      await api.listInstances();
      onSignedIn({ api, projectId: c.projectId, endpoint: c.endpoint, who: method === 'aksk' ? c.accessKey! : method === 'token' ? 'token' : 'no credentials' });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const value = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);

  return (
    <main class="signin">
      <form class="card signin-card" onSubmit={submit} autocomplete="off">
        <h1>DCS background tasks</h1>
        <p class="muted">Sign in with an access key or a token of your project.</p>
        <div class="segmented" role="radiogroup" aria-label="Sign-in method">
          <label class={method === 'aksk' ? 'on' : ''}>
            <input type="radio" name="method" checked={method === 'aksk'} onChange={() => setMethod('aksk')} /> Access key
          </label>
          <label class={method === 'token' ? 'on' : ''}>
            <input type="radio" name="method" checked={method === 'token'} onChange={() => setMethod('token')} /> Token
          </label>
          <label class={method === 'none' ? 'on' : ''} title="For a service started with --no-auth (loopback only)">
            <input type="radio" name="method" checked={method === 'none'} onChange={() => setMethod('none')} /> None (--no-auth)
          </label>
        </div>
        <label class="field">Project ID
          <input name="project_id" required value={projectId} onInput={value(setProjectId)} spellcheck={false} placeholder="32 hex characters" />
        </label>
        {method === 'aksk' ? (
          <>
            <label class="field">Access key (AK)
              <input name="access_key" required value={accessKey} onInput={value(setAccessKey)} spellcheck={false} />
            </label>
            <label class="field">Secret key (SK)
              <input name="secret_key" type="password" required value={secretKey} onInput={value(setSecretKey)} autocomplete="new-password" />
            </label>
          </>
        ) : method === 'token' ? (
          <label class="field">Token (X-Auth-Token)
            <input name="token" type="password" required value={token} onInput={value(setToken)} autocomplete="new-password" />
          </label>
        ) : (
          <p class="muted small">Requests are sent without credentials: only a service started with <span class="mono">--no-auth</span> accepts them.</p>
        )}
        <label class="field">Endpoint
          <input name="endpoint" required value={endpoint} onInput={value(setEndpoint)} spellcheck={false} />
        </label>
        <ErrorMessage error={error} />
        <button type="submit" class="btn btn-primary btn-block" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        <p class="muted small">Requests are signed in this tab; the secret key stays in its memory and is forgotten on reload or sign-out.</p>
      </form>
    </main>
  );
}
