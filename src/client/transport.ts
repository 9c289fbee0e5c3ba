/**
 * One HTTP call to the service: URL, credentials (AK/SK signature or X-Auth-Token), fetch with
 * a timeout, and the answer turned into a value or a DcsApiError / DcsNetworkError. No Node APIs:
 * the browser console bundles this.
 */
import { DcsApiError, DcsNetworkError, DcsOptionsError, isErrorBody } from './errors.js';
import { signRequestAsync } from './signer.js';

export interface DcsTasksClientOptions {
  /** Base URL of the service, e.g. "http://127.0.0.1:8080". */
  endpoint: string;
  projectId: string;
  /** AK/SK: every request is signed (SDK-HMAC-SHA256). */
  accessKey?: string;
  secretKey?: string;
  /** Alternatively a token from POST /tokens, sent as X-Auth-Token. */
  token?: string;
  /** fetch to use (tests, proxies); defaults to the global one. */
  fetch?: typeof fetch;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
}

export type Query = Record<string, string | number | undefined>;

export interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path segments after /v2/{project_id}; each is percent-encoded. */
  segments: string[];
  query?: Query;
  body?: unknown;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class Transport {
  private readonly base: URL;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  /**
   * The options, credentials included, in a private field: not a property, so no inspection of
   * the client (console.dir, a debugger's object view, Object.keys) shows a secret key or token.
   */
  readonly #o: DcsTasksClientOptions;

  constructor(o: DcsTasksClientOptions) {
    this.#o = o;
    if (!o.projectId) throw new DcsOptionsError('projectId is required');
    if ((o.accessKey === undefined) !== (o.secretKey === undefined)) {
      throw new DcsOptionsError('accessKey and secretKey go together');
    }
    let base: URL;
    try {
      base = new URL(o.endpoint);
    } catch {
      throw new DcsOptionsError(`endpoint is not a URL: ${JSON.stringify(o.endpoint)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new DcsOptionsError(`endpoint must be http(s): ${o.endpoint}`);
    this.base = base;
    // Bound: a browser's fetch throws "Illegal invocation" when called on another object.
    this.fetchFn = o.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** What JSON.stringify shows of a client: where it points and how it signs, never a secret key or token. */
  toJSON(): object {
    const auth = this.#o.accessKey !== undefined ? { accessKey: this.#o.accessKey } : this.#o.token !== undefined ? { token: '***' } : {};
    return { endpoint: this.base.href, projectId: this.#o.projectId, ...auth };
  }

  /** What console.log shows (Node's inspect), the same. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Transport ${JSON.stringify(this.toJSON())}`;
  }

  get projectId(): string {
    return this.#o.projectId;
  }

  url(c: Call): URL {
    const prefix = this.base.pathname.replace(/\/+$/, '');
    const path = ['v2', this.#o.projectId, ...c.segments].map(encodeURIComponent).join('/');
    const u = new URL(`${prefix}/${path}`, this.base);
    for (const [k, v] of Object.entries(c.query ?? {})) if (v !== undefined) u.searchParams.append(k, String(v));
    return u;
  }

  async send<T>(c: Call): Promise<T> {
    const url = this.url(c);
    const body = c.body === undefined ? undefined : JSON.stringify(c.body);
    const headers = await this.headers(c.method, url, body);
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(url, { method: c.method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      text = await res.text();
    } catch (e) {
      throw networkError(e, url, this.timeoutMs);
    }
    return parse<T>(res, text);
  }

  private async headers(method: string, url: URL, body: string | undefined): Promise<Record<string, string>> {
    // Content-Type on every call, as the official SDKs do (api.md: a bodiless DELETE with it must work).
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Project-Id': this.#o.projectId };
    if (this.#o.accessKey !== undefined && this.#o.secretKey !== undefined) {
      // `host` is not signed: a browser may not set it, and the server does not require it (auth.md).
      const added = await signRequestAsync({
        accessKey: this.#o.accessKey, secretKey: this.#o.secretKey, method,
        url: url.pathname + url.search, headers, body: body ?? '',
      });
      return { ...headers, ...added };
    }
    if (this.#o.token !== undefined) return { ...headers, 'X-Auth-Token': this.#o.token };
    return headers; // a service started with --no-auth
  }
}

function networkError(e: unknown, url: URL, timeoutMs: number): DcsNetworkError {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return new DcsNetworkError(`no answer from ${url.origin} within ${timeoutMs} ms`, url.href, true, { cause: e });
  }
  // Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause.
  const why = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
  return new DcsNetworkError(`cannot reach ${url.origin}: ${why}`, url.href, false, { cause: e });
}

function parse<T>(res: Response, text: string): T {
  const requestId = res.headers.get('x-request-id');
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    if (isErrorBody(json)) throw new DcsApiError(json.error_code, res.status, requestId, json.error_msg);
    throw new DcsApiError(`HTTP.${res.status}`, res.status, requestId, `HTTP ${res.status} ${res.statusText}`.trim());
  }
  if (json === undefined && text !== '') {
    throw new DcsApiError(`HTTP.${res.status}`, res.status, requestId, 'The response body is not JSON.');
  }
  return json as T;
}
