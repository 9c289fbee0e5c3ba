/**
 * The auto-refresh switch, one for the whole console and remembered in localStorage (a
 * preference, never a secret). Lists poll every REFRESH_MS while it is on.
 */
import { useEffect, useState } from 'preact/hooks';

export const REFRESH_MS = 3000;
const KEY = 'dcs-console.auto-refresh';
const listeners = new Set<(on: boolean) => void>();

function stored(): boolean {
  try {
    return localStorage.getItem(KEY) !== 'off';
  } catch {
    return true; // storage blocked: on, as by default
  }
}

export function setAutoRefresh(on: boolean): void {
  try {
    localStorage.setItem(KEY, on ? 'on' : 'off');
  } catch { /* the switch still works for this page */ }
  for (const l of listeners) l(on);
}

export function useAutoRefresh(): boolean {
  const [on, setOn] = useState(stored);
  useEffect(() => {
    listeners.add(setOn);
    return () => void listeners.delete(setOn);
  }, []);
  return on;
}

/** Re-renders every second, for "updated N s ago". */
export function useClock(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}
