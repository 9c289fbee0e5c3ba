/**
 * Signed HTTP requests for the tests, signed with the official Huawei Cloud signer
 * (AKSKSigner from @huaweicloud/huaweicloud-sdk-core), sent with fetch.
 */
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import http from 'node:http';
import type { TestCredential } from './service.js';

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export interface CallOptions {
  query?: Record<string, string | string[]>;
  body?: unknown;
  /** Bytes sent as the body, unsigned by the signer (signature then covers `body` or nothing). */
  rawBody?: string | Buffer;
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
  // A parameter given as a list is sent once per value, as the signer signs it.
  const qs = new URLSearchParams(Object.entries(query).flatMap(([k, v]) => [v].flat().map((x) => [k, x]))).toString().replace(/\+/g, '%20');
  const url = `${base}${path}${qs ? `?${qs}` : ''}`;
  let headers: Record<string, string> = { 'content-type': 'application/json', ...(o.headers ?? {}) };
  if (cred) {
    if (o.projectHeader !== false && !('X-Project-Id' in headers)) headers['X-Project-Id'] = cred.project_id;
    const signed = AKSKSigner.sign(
      { endpoint: `${base}${path}`, method, headers, queryParams: query, data: o.body } as any,
      credentialOf(cred),
    ) as Record<string, string>;
    headers = { ...signed };
  }
  o.tamper?.(headers);
  const body = o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  const res = await send(url, method, headers, body);
  const text = res.text;
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, body: json, text };
}

/** node:http rather than fetch: like the SDK (axios), it may send a body on a GET. */
function send(url: string, method: string, headers: Record<string, string>, body: string | Buffer | undefined) {
  return new Promise<{ status: number; headers: Headers; text: string }>((resolve, reject) => {
    let answered = false;
    const req = http.request(url, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve({ status: res.statusCode ?? 0, headers: h, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    // A server that refuses a huge body answers before reading it all and closes the connection:
    // the rest of our write then fails (EPIPE/ECONNRESET), but its answer is what a client sees.
    // Give that answer a moment to be read before treating the write error as the outcome.
    req.on('error', (e) => setTimeout(() => { if (!answered) reject(e); }, 200));
    req.end(body);
  });
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
