/**
 * What crosses between the event loop and the SQLite thread: calls by method path ("getTask",
 * "records.getBackup") with plain-data arguments, and their answers. Errors are sent as their
 * name, message and code, and rebuilt on the other side (structured cloning keeps no class or
 * extra property).
 */
export interface Call {
  id: number;
  method: string;
  args: unknown[];
}

export interface WireError {
  name: string;
  message: string;
  code?: string;
}

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

export function toWire(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
}

export function fromWire(w: WireError): Error {
  const e = new Error(w.message);
  e.name = w.name;
  if (w.code !== undefined) (e as Error & { code: string }).code = w.code;
  return e;
}
