/**
 * The one abortable wait: a step's demonstration delay, a migration's polls and retries and its
 * bandwidth throttle all end early when their run is stopped or loses its lease.
 */

/** Waits `ms`, less if `signal` fires (or has): true when the time passed, false when aborted. Leaves no listener behind. */
export function waitOrAbort(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const done = (passed: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(passed);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort);
  });
}
