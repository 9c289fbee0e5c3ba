/**
 * Hash routing (#/instances/<id>/tasks): the service serves one index.html and the browser
 * keeps the route across reloads without the server knowing the console's pages.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'instances' }
  | { page: 'instance'; id: string; tab: 'overview' | 'tasks' }
  | { page: 'tasks' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'instances' && parts[1]) return { page: 'instance', id: parts[1], tab: parts[2] === 'tasks' ? 'tasks' : 'overview' };
  if (parts[0] === 'tasks') return { page: 'tasks' };
  return { page: 'instances' };
}

export const href = {
  instances: () => '#/instances',
  instance: (id: string, tab: 'overview' | 'tasks' = 'overview') => `#/instances/${encodeURIComponent(id)}${tab === 'tasks' ? '/tasks' : ''}`,
  tasks: () => '#/tasks',
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
