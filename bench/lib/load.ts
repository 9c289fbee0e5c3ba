/**
 * Load generation and the numbers taken from it. Throughput is completed responses divided by
 * the time from the first request sent to the last response received (autocannon's per-second
 * average is too coarse for runs of a few seconds); latencies are every response's own time, so
 * rows measured in several rounds merge into exact percentiles.
 */
import autocannon from 'autocannon';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { credentialOf } from '../../test/helpers/client.js';
import type { TestCredential } from '../../test/helpers/service.js';

export interface SignedRequest {
  method: 'GET' | 'DELETE';
  path: string;
  headers: Record<string, string>;
}

/**
 * Signs a bodiless request with the official Huawei Cloud signer, for sending later; `path` then
 * carries the query string, encoded as the SDK sends it.
 */
export function signed(base: string, cred: TestCredential, method: SignedRequest['method'], path: string, query: Record<string, string> = {}): SignedRequest {
  const headers = { 'content-type': 'application/json', 'X-Project-Id': cred.project_id };
  const signedHeaders = AKSKSigner.sign({ endpoint: `${base}${path}`, method, headers, queryParams: query } as any, credentialOf(cred)) as Record<string, string>;
  const qs = new URLSearchParams(query).toString().replace(/\+/g, '%20');
  return { method, path: qs ? `${path}?${qs}` : path, headers: signedHeaders };
}

export interface LoadResult {
  /** Responses received (any status). */
  completed: number;
  ok: number;
  /** Connection errors and timeouts. */
  errors: number;
  seconds: number;
  /** Milliseconds, one per response. */
  latencies: number[];
}

/** Sends each request once over `connections` keep-alive connections. */
export function load(url: string, requests: SignedRequest[], connections: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    let ok = 0;
    let next = 0;
    let last = 0;
    const t0 = performance.now();
    const instance = autocannon({
      url,
      connections: Math.max(1, Math.round(connections)),
      amount: requests.length,
      requests: [{ setupRequest: (req: any) => ({ ...req, ...requests[next++ % requests.length] }) }],
    }, (err, r) => {
      if (err) return reject(err);
      resolve({ completed: latencies.length, ok, errors: r.errors + r.timeouts, seconds: (last - t0) / 1000, latencies });
    });
    instance.on('response', (_client, status: number, _bytes: number, ms: number) => {
      last = performance.now();
      latencies.push(ms);
      if (status === 200) ok++;
    });
  });
}

/**
 * Several measurements taken as one, with merged latencies: one after another (rounds of a row:
 * the times add up) or side by side (nodes loaded at once: the longest time counts).
 */
export function merge(results: LoadResult[], how: 'sequential' | 'parallel' = 'sequential'): LoadResult {
  const seconds = results.map((r) => r.seconds);
  return {
    completed: results.reduce((a, r) => a + r.completed, 0),
    ok: results.reduce((a, r) => a + r.ok, 0),
    errors: results.reduce((a, r) => a + r.errors, 0),
    seconds: how === 'sequential' ? seconds.reduce((a, b) => a + b, 0) : Math.max(...seconds),
    latencies: results.flatMap((r) => r.latencies),
  };
}

export const throughput = (r: LoadResult): number => r.completed / r.seconds;

/** Nearest-rank percentile of unsorted samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
