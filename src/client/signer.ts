/**
 * AK/SK request signing with Web Crypto (globalThis.crypto.subtle), so the same code signs in
 * Node 20 and in the browser console. The canonical request comes from auth/canonical.ts, the
 * one implementation the server verifies against; only the hashing differs from signRequest.
 */
import { authorizationValue, planSignature, stringToSign, toHex, type SigningRequest } from '../auth/canonical.js';

export interface ClientSignOptions extends SigningRequest {
  accessKey: string;
  secretKey: string;
  /** Body exactly as it will be sent; a string is sent as UTF-8. */
  body?: Uint8Array | string;
}

const utf8 = new TextEncoder();

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  // Browsers expose subtle only in secure contexts (https or localhost).
  if (!s) throw new Error('Web Crypto (crypto.subtle) is not available: use https or localhost, or Node 20+');
  return s;
}

const bytes = (data: Uint8Array | string): Uint8Array<ArrayBuffer> =>
  typeof data === 'string' ? utf8.encode(data) : new Uint8Array(data);

async function sha256Hex(data: Uint8Array | string): Promise<string> {
  return toHex(new Uint8Array(await subtle().digest('SHA-256', bytes(data))));
}

async function hmacHex(key: string, data: string): Promise<string> {
  const k = await subtle().importKey('raw', utf8.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return toHex(new Uint8Array(await subtle().sign('HMAC', k, utf8.encode(data))));
}

/**
 * Returns the headers to add to the request: X-Sdk-Date, Authorization (and, with
 * unsignedPayload, X-Sdk-Content-Sha256). Every header in `headers` is signed.
 */
export async function signRequestAsync(opts: ClientSignOptions): Promise<Record<string, string>> {
  const plan = planSignature(opts, await sha256Hex(opts.body ?? ''));
  const signature = await hmacHex(opts.secretKey, stringToSign(plan.sdkDate, await sha256Hex(plan.canonical)));
  return { ...plan.added, Authorization: authorizationValue(opts.accessKey, plan.signedHeaders, signature) };
}
