/**
 * Hash routing (#/instances/<id>/tasks, #/tasks?status=FAILED&offset=20): the service serves one
 * index.html and the browser keeps the route, its filters and its page across reloads and in a
 * shared link, without the server knowing the console's pages.
 */
import { useEffect, useState } from 'preact/hooks';

/** The query part of a route (filters, offset, limit), as strings. */
export type Query = Record<string, string>;

export type Route =
  | { page: 'instances' }
  | { page: 'instance'; id: string; tab: InstanceTab; query: Query }
  | { page: 'tasks'; query: Query }
  | { page: 'audit'; query: Query }
  | { page: 'migrations'; query: Query };

/** The instance page's tabs, by their address segment (#/instances/<id>/backups). */
export const INSTANCE_TABS = ['overview', 'tasks', 'backups', 'analysis'] as const;
export type InstanceTab = (typeof INSTANCE_TABS)[number];
const instanceTab = (s: string | undefined): InstanceTab => INSTANCE_TABS.find((t) => t !== 'overview' && t === s) ?? 'overview';

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const query = Object.fromEntries(new URLSearchParams(search));
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'instances' && parts[1]) return { page: 'instance', id: parts[1], tab: instanceTab(parts[2]), query };
  if (parts[0] === 'tasks') return { page: 'tasks', query };
  if (parts[0] === 'audit') return { page: 'audit', query };
  if (parts[0] === 'migrations') return { page: 'migrations', query };
  return { page: 'instances' };
}

/** "?a=1&b=2" without empty values (and nothing at all when every value is empty). */
function search(query: Query = {}): string {
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '' && v !== undefined));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const href = {
  instances: () => '#/instances',
  instance: (id: string, tab: InstanceTab = 'overview', query?: Query) =>
    `#/instances/${encodeURIComponent(id)}${tab === 'overview' ? '' : `/${tab}${search(query)}`}`,
  tasks: (query?: Query) => `#/tasks${search(query)}`,
  audit: (query?: Query) => `#/audit${search(query)}`,
  migrations: (query?: Query) => `#/migrations${search(query)}`,
};

/** Replaces the current history entry: filter and paging changes do not flood Back. */
export function setHash(h: string): void {
  if (location.hash === h) return;
  history.replaceState(null, '', h);
  dispatchEvent(new HashChangeEvent('hashchange'));
}

/** A number from the query, or the fallback when absent or not a non-negative integer. */
export function intParam(query: Query, name: string, fallback: number): number {
  const v = query[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : fallback;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
