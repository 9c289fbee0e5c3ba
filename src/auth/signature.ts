// Verification (and a small synchronous Node signer) of Huawei Cloud "SDK-HMAC-SHA256" AK/SK
// signatures, as sent by the official SDKs. Pure: no I/O, no framework. See spec/auth.md.
//
// The canonical request itself is built in canonical.ts, the one implementation shared with the
// Web Crypto client signer (client/signer.ts); this file adds what is Node-specific: node:crypto
// hashing, the constant-time comparison, and reading Node's request shapes (rawHeaders, Buffer).
import { createHmac, createSecretKey, hash, timingSafeEqual, type KeyObject } from 'node:crypto';
import {
  EMPTY_BODY_SHA256, UNSIGNED_PAYLOAD, HEADER_NAME_RE, SignatureFormatError, authorizationValue, buildCanonicalRequest as buildFromParts,
  parseSdkDate, planSignature, stringToSign, type Result, type SigningRequest,
} from './canonical.js';

export {
  SIGNING_ALGORITHM, UNSIGNED_PAYLOAD, SignatureFormatError, formatSdkDate, parseSdkDate, sdkEncode,
} from './canonical.js';

/** Allowed clock difference between client and server (spec: ±15 minutes, inclusive). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export interface SignedRequest {
  method: string;
  /** Path plus optional `?query`, exactly as on the wire (Node's req.url). */
  rawUrl: string;
  /** Node's IncomingHttpHeaders (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** Node's req.rawHeaders (name, value, name, value...): used, when given, to see every copy of a repeated header. */
  rawHeaders?: string[];
  /** Body bytes as received; empty Buffer when none. */
  body: Buffer;
}

export type AuthFailure = { ok: false; code: 'DCS.1001' | 'DCS.1002' | 'DCS.1003'; reason: string };
export type AuthSuccess = { ok: true; accessKey: string };

const sha256Hex = (data: string | Buffer): string => hash('sha256', data, 'hex');
/** Secret keys as key objects, made once per secret (a few credentials, each used by every request). */
const hmacKeys = new Map<string, KeyObject>();
const hmacHex = (key: string, data: string): string => {
  let k = hmacKeys.get(key);
  if (!k) {
    if (hmacKeys.size >= 1024) hmacKeys.clear(); // bounded however many keys a process sees
    hmacKeys.set(key, (k = createSecretKey(Buffer.from(key, 'utf8'))));
  }
  return createHmac('sha256', k).update(data).digest('hex');
};

// Every value of a header: from rawHeaders when given (Node keeps only the first copy of some
// headers and joins others with ", " in req.headers), else from req.headers.
// rawHeaders grouped by lower-case name, once per request (a request's headers are read several times).
const rawHeaderIndex = new WeakMap<string[], Map<string, string[]>>();

function indexRawHeaders(raw: string[]): Map<string, string[]> {
  let index = rawHeaderIndex.get(raw);
  if (index) return index;
  index = new Map();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = String(raw[i]).toLowerCase();
    const list = index.get(name);
    if (list) list.push(String(raw[i + 1]));
    else index.set(name, [String(raw[i + 1])]);
  }
  rawHeaderIndex.set(raw, index);
  return index;
}

function headerValues(req: Pick<SignedRequest, 'headers' | 'rawHeaders'>, name: string): string[] | undefined {
  let values: string[] = [];
  if (Array.isArray(req.rawHeaders)) {
    values = indexRawHeaders(req.rawHeaders).get(name) ?? [];
  } else {
    const v = req.headers && Object.hasOwn(req.headers, name) ? req.headers[name] : undefined;
    if (typeof v === 'string') values = [v];
    else if (Array.isArray(v)) values = v.map(String);
  }
  return values.length > 0 ? values : undefined;
}

function singleHeader(req: Pick<SignedRequest, 'headers' | 'rawHeaders'>, name: string): string | undefined {
  const values = headerValues(req, name);
  return values && values.length === 1 ? values[0]!.trim() : undefined;
}

// X-Sdk-Content-Sha256 replaces the body hash (clients send UNSIGNED-PAYLOAD for large or
// non-JSON bodies). A hex hash there must match the body: otherwise the body would go unchecked.
function payloadHash(req: SignedRequest): Result<string> {
  const bodyHash = () => (Buffer.isBuffer(req.body) && req.body.length > 0 ? sha256Hex(req.body) : EMPTY_BODY_SHA256);
  const declared = headerValues(req, 'x-sdk-content-sha256');
  if (declared === undefined) return { ok: true, value: bodyHash() };
  const value = declared.length === 1 ? declared[0]!.trim() : '';
  if (value === UNSIGNED_PAYLOAD) return { ok: true, value };
  if (/^[0-9a-fA-F]{64}$/.test(value) && value.toLowerCase() === bodyHash()) return { ok: true, value };
  return { ok: false, reason: 'X-Sdk-Content-Sha256 is neither UNSIGNED-PAYLOAD nor the body hash' };
}

function buildCanonicalRequest(req: SignedRequest, signedHeaders: string[]): Result<string> {
  const hash = payloadHash(req);
  if (!hash.ok) return hash;
  return buildFromParts({
    method: req.method, rawUrl: req.rawUrl, headerValues: (n) => headerValues(req, n), payloadHash: hash.value,
  }, signedHeaders);
}

/** The canonical request the signature covers. Throws SignatureFormatError on malformed input. */
export function canonicalRequest(req: SignedRequest, signedHeaders: string[]): string {
  const r = buildCanonicalRequest(req, signedHeaders);
  if (!r.ok) throw new SignatureFormatError(r.reason);
  return r.value;
}

// ---------------------------------------------------------------------------------------------
// Verification

interface ParsedAuthorization { accessKey: string; signedHeaders: string[]; signature: string }

// Exactly what both SDKs emit: "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=<hex>".
// Whitespace after the commas is optional.
const AUTHORIZATION_RE =
  /^SDK-HMAC-SHA256 Access=([^\s,]{1,256}), ?SignedHeaders=([^\s,]{1,2048}), ?Signature=([0-9a-f]{64})$/;

function parseAuthorization(value: string): Result<ParsedAuthorization> {
  const m = AUTHORIZATION_RE.exec(value.trim());
  if (!m) return { ok: false, reason: 'malformed Authorization header' };
  const signedHeaders = m[2]!.split(';');
  for (let i = 0; i < signedHeaders.length; i++) {
    if (!HEADER_NAME_RE.test(signedHeaders[i]!)) return { ok: false, reason: 'malformed SignedHeaders' };
    // Sorted and without duplicates, as the spec requires (both SDKs sort them).
    if (i > 0 && !(signedHeaders[i - 1]! < signedHeaders[i]!)) {
      return { ok: false, reason: 'SignedHeaders not sorted or repeated' };
    }
  }
  return { ok: true, value: { accessKey: m[1]!, signedHeaders, signature: m[3]! } };
}

// HMAC key used when the access key is unknown, so that case costs the same as a mismatch.
const DUMMY_SECRET = 'dcs-tasks-unknown-access-key';

const fail = (code: AuthFailure['code'], reason: string): AuthFailure => ({ ok: false, code, reason });

/** What the signature headers say, checked: everything that does not need the body or a key. */
export interface SignatureHeaders { accessKey: string; signedHeaders: string[]; signature: string; sdkDate: string }

/**
 * The Authorization and X-Sdk-Date headers of a signed request, checked without its body or any
 * key: present once each, well-formed, x-sdk-date signed, the date within 15 minutes of nowMs.
 * Codes as verifySignature's.
 */
export function checkSignatureHeaders(
  req: Pick<SignedRequest, 'headers' | 'rawHeaders'>, nowMs: number,
): { ok: true; value: SignatureHeaders } | AuthFailure {
  // Every copy, from rawHeaders: Node keeps only the first Authorization in req.headers, and a
  // proxy that took the last one would disagree with us about who is calling.
  const authValues = headerValues(req, 'authorization');
  if (authValues === undefined) return fail('DCS.1003', 'no Authorization header');
  if (authValues.length !== 1) return fail('DCS.1001', 'Authorization header repeated');

  const auth = parseAuthorization(authValues[0]!);
  if (!auth.ok) return fail('DCS.1001', auth.reason);
  const { accessKey, signedHeaders, signature } = auth.value;
  if (!signedHeaders.includes('x-sdk-date')) return fail('DCS.1001', 'x-sdk-date is not a signed header');

  const sdkDate = singleHeader(req, 'x-sdk-date');
  if (sdkDate === undefined) return fail('DCS.1002', 'X-Sdk-Date missing or repeated');
  const dateMs = parseSdkDate(sdkDate);
  if (dateMs === undefined) return fail('DCS.1002', 'X-Sdk-Date is not YYYYMMDDTHHMMSSZ');
  if (Math.abs(nowMs - dateMs) > MAX_CLOCK_SKEW_MS) {
    return fail('DCS.1002', `X-Sdk-Date ${sdkDate} is more than 15 minutes from server time`);
  }
  return { ok: true, value: { accessKey, signedHeaders, signature, sdkDate } };
}

/**
 * Verifies an SDK-HMAC-SHA256 signed request. Never throws for any request (only if secretFor
 * itself throws). Codes: DCS.1003 no Authorization header; DCS.1002 X-Sdk-Date missing,
 * malformed or more than 15 minutes from nowMs; DCS.1001 everything else (malformed header,
 * unknown AK, wrong signature — the last two indistinguishable to the client).
 */
export function verifySignature(
  req: SignedRequest,
  secretFor: (accessKey: string) => string | undefined,
  nowMs: number,
): AuthSuccess | AuthFailure {
  const checked = checkSignatureHeaders(req, nowMs);
  if (!checked.ok) return checked;
  const { accessKey, signedHeaders, signature, sdkDate } = checked.value;

  const canonical = buildCanonicalRequest(req, signedHeaders);
  if (!canonical.ok) return fail('DCS.1001', canonical.reason);

  const secret = secretFor(accessKey);
  const expected = hmacHex(secret ?? DUMMY_SECRET, stringToSign(sdkDate, sha256Hex(canonical.value)));
  const matches = timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature, 'hex'));
  if (secret === undefined) return fail('DCS.1001', `unknown access key ${JSON.stringify(accessKey)}`);
  if (!matches) return fail('DCS.1001', `signature mismatch for access key ${JSON.stringify(accessKey)}`);
  return { ok: true, accessKey };
}

// ---------------------------------------------------------------------------------------------
// Synchronous Node signer (tests, benchmark). The async Web Crypto one is client/signer.ts;
// both lay out the signature with canonical.ts's planSignature.

export interface SignOptions extends SigningRequest {
  accessKey: string;
  secretKey: string;
  body?: Buffer | string;
}

/**
 * Signs a request the way the official SDKs do (every given header plus X-Sdk-Date is signed)
 * and returns the headers to add: X-Sdk-Date, Authorization and, with unsignedPayload,
 * X-Sdk-Content-Sha256. Throws SignatureFormatError on input the server would reject anyway.
 */
export function signRequest(opts: SignOptions): Record<string, string> {
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body, 'utf8') : (opts.body ?? Buffer.alloc(0));
  const plan = planSignature(opts, sha256Hex(body));
  const signature = hmacHex(opts.secretKey, stringToSign(plan.sdkDate, sha256Hex(plan.canonical)));
  return { ...plan.added, Authorization: authorizationValue(opts.accessKey, plan.signedHeaders, signature) };
}
