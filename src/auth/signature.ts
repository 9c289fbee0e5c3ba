// Verification (and a small client-side signer) of Huawei Cloud "SDK-HMAC-SHA256" AK/SK
// signatures, as sent by the official SDKs. Pure: no I/O, no framework. See spec/auth.md.
//
// Compatibility reference: AKSKSigner in @huaweicloud/huaweicloud-sdk-core. Our canonical
// request must equal the one that signer builds from the *client's* view of the request, while
// we only see the wire form, hence the decode/re-encode of the query and the raw-path handling.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
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

/** Thrown only by the exported helpers canonicalRequest/signRequest; verifySignature never throws. */
export class SignatureFormatError extends Error {}

type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmacHex = (key: string, data: string): string => createHmac('sha256', key).update(data).digest('hex');

// ---------------------------------------------------------------------------------------------
// Percent-encoding, identical to AKSKSigner.urlEncode for well-formed strings: UTF-8 bytes
// outside A-Z a-z 0-9 - _ . ~ become %XX (upper-case hex). Lone surrogates (where the SDK
// throws) become U+FFFD here, so this never throws.
function isUnreserved(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) ||
    b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e;
}

export function sdkEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += isUnreserved(b) ? String.fromCharCode(b) : '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}

// The path is NOT decoded: the SDK signs the pathname of url.parse(endpoint), which is already
// percent-encoded the way it goes on the wire (a space is "%20" there), and then encodes it
// again ("%2520"). Encoding the raw wire path reproduces exactly that.
function canonicalUri(path: string): string {
  const uri = path.split('/').map(sdkEncode).join('/');
  return uri.endsWith('/') ? uri : uri + '/';
}

// The query IS decoded: the SDK signs the unencoded queryParams object, and Node's
// querystring.stringify (what the SDK puts on the wire) or Go's url.Values.Encode produced the
// wire form. '+' means space (Go encodes spaces that way; Node uses %20, both decode the same).
// Order = the SDK's: names sorted (JS string order, on decoded names), then values.
function canonicalQuery(query: string): Result<string> {
  const pairs: Array<[string, string]> = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeQueryComponent(eq < 0 ? part : part.slice(0, eq));
    const value = decodeQueryComponent(eq < 0 ? '' : part.slice(eq + 1));
    if (name === undefined || value === undefined) {
      return { ok: false, reason: 'malformed percent-encoding in query string' };
    }
    pairs.push([name, value]);
  }
  pairs.sort((a, b) => compare(a[0], b[0]) || compare(a[1], b[1]));
  return { ok: true, value: pairs.map(([n, v]) => `${sdkEncode(n)}=${sdkEncode(v)}`).join('&') };
}

function decodeQueryComponent(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined; // bad %-escape or invalid UTF-8
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// Every value of a header: from rawHeaders when given (Node keeps only the first copy of some
// headers and joins others with ", " in req.headers), else from req.headers.
function headerValues(req: SignedRequest, name: string): string[] | undefined {
  let values: string[] = [];
  if (Array.isArray(req.rawHeaders)) {
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      if (String(req.rawHeaders[i]).toLowerCase() === name) values.push(String(req.rawHeaders[i + 1]));
    }
  } else {
    const v = req.headers && Object.hasOwn(req.headers, name) ? req.headers[name] : undefined;
    if (typeof v === 'string') values = [v];
    else if (Array.isArray(v)) values = v.map(String);
  }
  return values.length > 0 ? values : undefined;
}

function singleHeader(req: SignedRequest, name: string): string | undefined {
  const values = headerValues(req, name);
  return values && values.length === 1 ? values[0]!.trim() : undefined;
}

// X-Sdk-Content-Sha256 replaces the body hash (clients send UNSIGNED-PAYLOAD for large or
// non-JSON bodies). A hex hash there must match the body: otherwise the body would go unchecked.
function payloadHash(req: SignedRequest): Result<string> {
  const bodyHash = () => sha256Hex(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
  const declared = headerValues(req, 'x-sdk-content-sha256');
  if (declared === undefined) return { ok: true, value: bodyHash() };
  const value = declared.length === 1 ? declared[0]!.trim() : '';
  if (value === UNSIGNED_PAYLOAD) return { ok: true, value };
  if (/^[0-9a-fA-F]{64}$/.test(value) && value.toLowerCase() === bodyHash()) return { ok: true, value };
  return { ok: false, reason: 'X-Sdk-Content-Sha256 is neither UNSIGNED-PAYLOAD nor the body hash' };
}

function buildCanonicalRequest(req: SignedRequest, signedHeaders: string[]): Result<string> {
  const rawUrl = typeof req.rawUrl === 'string' ? req.rawUrl : '';
  if (!rawUrl.startsWith('/')) return { ok: false, reason: 'request target is not an absolute path' };
  const q = rawUrl.indexOf('?');
  const query = canonicalQuery(q < 0 ? '' : rawUrl.slice(q + 1));
  if (!query.ok) return query;
  const headerLines: string[] = [];
  for (const name of signedHeaders) {
    const values = headerValues(req, name);
    if (values === undefined) return { ok: false, reason: `signed header ${name} is missing` };
    // One line per copy of the header, values trimmed and sorted (as APIG / the Go SDK do).
    for (const v of values.map((x) => x.trim()).sort(compare)) headerLines.push(`${name}:${v}\n`);
  }
  const hash = payloadHash(req);
  if (!hash.ok) return hash;
  return {
    ok: true,
    value: [
      String(req.method).toUpperCase(),
      canonicalUri(q < 0 ? rawUrl : rawUrl.slice(0, q)),
      query.value,
      headerLines.join(''),
      signedHeaders.join(';'),
      hash.value,
    ].join('\n'),
  };
}

/** The canonical request the signature covers. Throws SignatureFormatError on malformed input. */
export function canonicalRequest(req: SignedRequest, signedHeaders: string[]): string {
  const r = buildCanonicalRequest(req, signedHeaders);
  if (!r.ok) throw new SignatureFormatError(r.reason);
  return r.value;
}

const stringToSign = (sdkDate: string, canonical: string): string =>
  `${SIGNING_ALGORITHM}\n${sdkDate}\n${sha256Hex(canonical)}`;

// ---------------------------------------------------------------------------------------------
// Verification

interface ParsedAuthorization { accessKey: string; signedHeaders: string[]; signature: string }

// Exactly what both SDKs emit: "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=<hex>".
// Whitespace after the commas is optional.
const AUTHORIZATION_RE =
  /^SDK-HMAC-SHA256 Access=([^\s,]{1,256}), ?SignedHeaders=([^\s,]{1,2048}), ?Signature=([0-9a-f]{64})$/;
const HEADER_NAME_RE = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

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

/** Parses YYYYMMDDTHHMMSSZ (UTC); undefined when malformed or not a real date/time. */
export function parseSdkDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  // Date.UTC silently rolls over (month 13, Feb 30...): reject anything that does not round-trip.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d ||
      back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s) {
    return undefined;
  }
  return t;
}

export function formatSdkDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

// HMAC key used when the access key is unknown, so that case costs the same as a mismatch.
const DUMMY_SECRET = 'dcs-tasks-unknown-access-key';

const fail = (code: AuthFailure['code'], reason: string): AuthFailure => ({ ok: false, code, reason });

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
  const authHeader = req.headers?.['authorization'];
  if (authHeader === undefined) return fail('DCS.1003', 'no Authorization header');
  const authValue = Array.isArray(authHeader) ? (authHeader.length === 1 ? authHeader[0] : undefined) : authHeader;
  if (typeof authValue !== 'string') return fail('DCS.1001', 'Authorization header repeated');

  const auth = parseAuthorization(authValue);
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

  const canonical = buildCanonicalRequest(req, signedHeaders);
  if (!canonical.ok) return fail('DCS.1001', canonical.reason);

  const secret = secretFor(accessKey);
  const expected = hmacHex(secret ?? DUMMY_SECRET, stringToSign(sdkDate, canonical.value));
  const matches = timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature, 'hex'));
  if (secret === undefined) return fail('DCS.1001', `unknown access key ${JSON.stringify(accessKey)}`);
  if (!matches) return fail('DCS.1001', `signature mismatch for access key ${JSON.stringify(accessKey)}`);
  return { ok: true, accessKey };
}

// ---------------------------------------------------------------------------------------------
// Client side

export interface SignOptions {
  accessKey: string;
  secretKey: string;
  method: string;
  /** Path plus optional query exactly as it will be sent (already percent-encoded). */
  url: string;
  /** Headers that will be sent and must be signed (include `host` to bind the host). */
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Signing time; defaults to now. */
  date?: Date;
  /** Leave the body out of the signature (adds X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD). */
  unsignedPayload?: boolean;
}

/**
 * Signs a request the way the official SDKs do (every given header plus X-Sdk-Date is signed)
 * and returns the headers to add: X-Sdk-Date, Authorization and, with unsignedPayload,
 * X-Sdk-Content-Sha256. Throws SignatureFormatError on input the server would reject anyway.
 */
export function signRequest(opts: SignOptions): Record<string, string> {
  const sdkDate = formatSdkDate((opts.date ?? new Date()).getTime());
  const added: Record<string, string> = { 'X-Sdk-Date': sdkDate };
  if (opts.unsignedPayload) added['X-Sdk-Content-Sha256'] = UNSIGNED_PAYLOAD;

  const byName = new Map<string, string>();
  for (const [name, value] of [...Object.entries(opts.headers ?? {}), ...Object.entries(added)]) {
    const lower = name.toLowerCase();
    if (lower === 'authorization') continue;
    if (byName.has(lower)) throw new SignatureFormatError(`header ${lower} given twice`);
    if (!HEADER_NAME_RE.test(lower)) throw new SignatureFormatError(`invalid header name ${JSON.stringify(name)}`);
    byName.set(lower, String(value));
  }
  const headers = Object.fromEntries(byName);
  const signedHeaders = [...byName.keys()].sort(compare);
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body, 'utf8') : (opts.body ?? Buffer.alloc(0));
  const canonical = canonicalRequest({ method: opts.method, rawUrl: opts.url, headers, body }, signedHeaders);
  const signature = hmacHex(opts.secretKey, stringToSign(sdkDate, canonical));
  added['Authorization'] =
    `${SIGNING_ALGORITHM} Access=${opts.accessKey}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return added;
}
