/** Times: the API speaks UTC; the console shows and takes the browser's local time. */

const pad = (n: number) => String(n).padStart(2, '0');

/** The browser's zone as a short name for a given moment ("UTC", "GMT+1", "CET"). */
function zoneName(d: Date): string {
  const part = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
  return part?.value ?? 'local';
}

/** The browser's IANA zone ("Europe/Berlin"), named once on pages that take local times. */
export const browserZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'local time';

/** "2026-11-25 11:52:03 UTC" in local time with its zone (the full ISO time as a tooltip), or "—". */
export function localTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zoneName(d)}`;
}

/** A `<input type="datetime-local">` value (local time) as the API's yyyyMMddHHmmss UTC; "" stays "". */
export function queryTime(local: string): string {
  if (!local) return '';
  const d = new Date(local); // a datetime-local string without zone parses as local time
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

/** "updated 4 s ago" for a refresh time, to the second. */
export const ago = (ms: number, now = Date.now()): string => `${Math.max(0, Math.round((now - ms) / 1000))} s ago`;

/** "4 s", "2 min 5 s". */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** The API's yyyyMMddHHmmss UTC as a `<input type="datetime-local">` value (local time); "" stays "". */
export function inputTime(api: string | undefined): string {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(api ?? '');
  if (!m) return '';
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
