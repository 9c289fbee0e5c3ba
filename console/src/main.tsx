/** The console's shell: sign-in until a session exists, then header, navigation and pages. */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { href, useRoute } from './router';
import { SignIn, type Session } from './pages/SignIn';
import { Instances } from './pages/Instances';
import { InstancePage } from './pages/InstancePage';
import { TaskCentre } from './pages/TaskCentre';
import { Audit } from './pages/Audit';
import { Migrations } from './pages/Migrations';
import { SignOut } from './components/ErrorMessage';
import './styles.css';

function App() {
  // The session (and with it the secret key) lives in this component's state only.
  const [session, setSession] = useState<Session | null>(null);
  const route = useRoute();
  if (!session) return <SignIn onSignedIn={setSession} />;
  const { api } = session;
  return (
    <>
      <header class="topbar">
        <span class="brand">DCS · Background tasks</span>
        <nav class="nav">
          <a href={href.instances()} class={route.page === 'instances' || route.page === 'instance' ? 'on' : ''}>Instances</a>
          <a href={href.tasks()} class={route.page === 'tasks' ? 'on' : ''}>Task centre</a>
          <a href={href.migrations()} class={route.page === 'migrations' ? 'on' : ''}>Migrations</a>
          <a href={href.audit()} class={route.page === 'audit' ? 'on' : ''}>Deletion audit</a>
        </nav>
        <span class="who" title={session.endpoint}>
          <span class="mono">{session.who}</span> · project <span class="mono">{session.projectId}</span>
        </span>
        <button type="button" class="btn btn-small btn-ghost" onClick={() => setSession(null)}>Sign out</button>
      </header>
      <main class="content"><SignOut.Provider value={() => setSession(null)}>
        {route.page === 'instances' && <Instances api={api} />}
        {route.page === 'instance' && <InstancePage key={route.id} api={api} id={route.id} tab={route.tab} query={route.query} />}
        {route.page === 'tasks' && <TaskCentre api={api} query={route.query} />}
        {route.page === 'audit' && <Audit api={api} query={route.query} />}
        {route.page === 'migrations' && <Migrations api={api} query={route.query} />}
      </SignOut.Provider></main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
