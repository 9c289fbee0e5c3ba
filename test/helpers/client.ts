/**
 * Signed HTTP requests for the tests, signed with the official Huawei Cloud signer
 * (AKSKSigner from @huaweicloud/huaweicloud-sdk-core), sent with fetch.
 */
import core from '@huaweicloud/huaweicloud-sdk-core';
import type { TestCredential } from './service.js';

const { AKSKSigner, BasicCredentials } = core as unknown as {
  AKSKSigner: { sign(req: unknown, cred: unknown): Record<string, string> };
  BasicCredentials: new () => { withAk(ak: string): any; withSk(sk: string): any; withProjectId(p: string): any };
};

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export interface CallOptions {
  query?: Record<string, string>;
  body?: unknown;
  /** Bytes sent as the body, unsigned by the signer (signature then covers `body` or nothing). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** Called with the signed headers before sending, to tamper with them. */
  tamper?: (h: Record<string, string>) => void;
  projectHeader?: boolean;
}

export function credentialOf(c: TestCredential) {
  return new BasicCredentials().withAk(c.access_key).withSk(c.secret_key).withProjectId(c.project_id);
}

export async function call(base: string, cred: TestCredential | null, method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  const query = o.query ?? {};
  const qs = new URLSearchParams(query).toString().replace(/\+/g, '%20');
  const url = `${base}${path}${qs ? `?${qs}` : ''}`;
  let headers: Record<string, string> = { 'content-type': 'application/json', ...(o.headers ?? {}) };
  if (cred) {
    if (o.projectHeader !== false) headers['X-Project-Id'] = cred.project_id;
    const signed = AKSKSigner.sign(
      { endpoint: `${base}${path}`, method, headers, queryParams: query, data: o.body },
      credentialOf(cred),
    );
    headers = { ...signed };
  }
  o.tamper?.(headers);
  const body = o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, body: json, text };
}

/** A client bound to one service and credential. */
export function client(base: string, cred: TestCredential | null) {
  const p = cred?.project_id ?? '';
  return {
    project: p,
    call: (method: string, path: string, o?: CallOptions) => call(base, cred, method, path.replace('{p}', p), o),
    get: (path: string, o?: CallOptions) => call(base, cred, 'GET', path.replace('{p}', p), o),
    del: (path: string, o?: CallOptions) => call(base, cred, 'DELETE', path.replace('{p}', p), o),
    put: (path: string, body: unknown, o?: CallOptions) => call(base, cred, 'PUT', path.replace('{p}', p), { ...o, body }),
    post: (path: string, body: unknown, o?: CallOptions) => call(base, cred, 'POST', path.replace('{p}', p), { ...o, body }),
  };
}
export type Client = ReturnType<typeof client>;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or the time runs out. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
