/**
 * The one implementation of the "SDK-HMAC-SHA256" canonical request (spec/auth.md, steps 3-4),
 * shared by the server's verifier (node:crypto, signature.ts) and the client signer (Web Crypto,
 * client/signer.ts). Isomorphic on purpose: no `node:` imports and no Buffer, because the browser
 * console bundles it. Hashing stays with the callers; this module only builds the strings.
 *
 * Compatibility reference: AKSKSigner in @huaweicloud/huaweicloud-sdk-core. Our canonical
 * request must equal the one that signer builds from the *client's* view of the request, while
 * the server only sees the wire form, hence the decode/re-encode of the query and the raw-path
 * handling.
 */
export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** SHA-256 of the empty string, the body hash of a request without a body. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Thrown by the throwing helpers (canonicalRequest, signing) on input the server would reject. */
export class SignatureFormatError extends Error {}

export const HEADER_NAME_RE = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const utf8 = new TextEncoder();

export const toHex = (bytes: Uint8Array): string => {
  let out = '';
  for (const b of bytes) out += (b < 16 ? '0' : '') + b.toString(16);
  return out;
};

// ---------------------------------------------------------------------------------------------
// Percent-encoding, identical to AKSKSigner.urlEncode for well-formed strings: UTF-8 bytes
// outside A-Z a-z 0-9 - _ . ~ become %XX (upper-case hex). Lone surrogates (where the SDK
// throws) become U+FFFD (TextEncoder does that), so this never throws.
function isUnreserved(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) ||
    b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e;
}

const ALL_UNRESERVED = /^[A-Za-z0-9\-_.~]*$/;

export function sdkEncode(s: string): string {
  if (ALL_UNRESERVED.test(s)) return s; // the common case (ids, names): nothing to encode
  let out = '';
  for (const b of utf8.encode(s)) {
    out += isUnreserved(b) ? String.fromCharCode(b) : '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}

// The path is NOT decoded: the SDK signs the pathname of Node's legacy url.parse(endpoint),
// which is already percent-encoded the way it goes on the wire (a space is "%20" there), and
// then encodes it again ("%2520"). url.parse escapes a few characters that a WHATWG URL (what
// axios and fetch put on the wire) sends raw, such as | ^ ' (and turns \ into /): doing the
// same to the wire path first reproduces, byte for byte, what the signer signed.
const URL_PARSE_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['\t', '%09'], ['\n', '%0A'], ['\r', '%0D'], [' ', '%20'], ['"', '%22'], ["'", '%27'], ['<', '%3C'], ['>', '%3E'],
  ['\\', '/'], ['^', '%5E'], ['`', '%60'], ['{', '%7B'], ['|', '%7C'], ['}', '%7D'],
]);

const URL_PARSE_ESCAPED = /[\t\n\r "'<>\\^`{|}]/;

function asUrlParseSees(path: string): string {
  if (!URL_PARSE_ESCAPED.test(path)) return path;
  let out = '';
  for (const ch of path) out += URL_PARSE_ESCAPES.get(ch) ?? ch;
  return out;
}

function canonicalUri(path: string): string {
  const uri = asUrlParseSees(path).split('/').map(sdkEncode).join('/');
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
  pairs.sort((a, b) => compareStrings(a[0], b[0]) || compareStrings(a[1], b[1]));
  return { ok: true, value: pairs.map(([n, v]) => `${sdkEncode(n)}=${sdkEncode(v)}`).join('&') };
}

function decodeQueryComponent(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined; // bad %-escape or invalid UTF-8
  }
}

/** What the canonical request is built from, whichever side builds it. */
export interface CanonicalInput {
  method: string;
  /** Path plus optional `?query`, exactly as on the wire. */
  rawUrl: string;
  /** Every value of a header (lower-case name), undefined when absent. */
  headerValues: (name: string) => string[] | undefined;
  /** Lowercase hex SHA-256 of the body, or UNSIGNED-PAYLOAD / the X-Sdk-Content-Sha256 value. */
  payloadHash: string;
}

export function buildCanonicalRequest(input: CanonicalInput, signedHeaders: string[]): Result<string> {
  const rawUrl = typeof input.rawUrl === 'string' ? input.rawUrl : '';
  if (!rawUrl.startsWith('/')) return { ok: false, reason: 'request target is not an absolute path' };
  const q = rawUrl.indexOf('?');
  const query = canonicalQuery(q < 0 ? '' : rawUrl.slice(q + 1));
  if (!query.ok) return query;
  const headerLines: string[] = [];
  for (const name of signedHeaders) {
    const values = input.headerValues(name);
    if (values === undefined) return { ok: false, reason: `signed header ${name} is missing` };
    // One line per copy of the header, values trimmed and sorted (as APIG / the Go SDK do).
    for (const v of values.map((x) => x.trim()).sort(compareStrings)) headerLines.push(`${name}:${v}\n`);
  }
  return {
    ok: true,
    value: [
      String(input.method).toUpperCase(),
      canonicalUri(q < 0 ? rawUrl : rawUrl.slice(0, q)),
      query.value,
      headerLines.join(''),
      signedHeaders.join(';'),
      input.payloadHash,
    ].join('\n'),
  };
}

/** Step 4: what the HMAC covers, given the hex SHA-256 of the canonical request. */
export const stringToSign = (sdkDate: string, canonicalSha256Hex: string): string =>
  `${SIGNING_ALGORITHM}\n${sdkDate}\n${canonicalSha256Hex}`;

// ---------------------------------------------------------------------------------------------
// X-Sdk-Date

/** The last X-Sdk-Date parsed: requests signed in the same second carry the same date. */
let lastSdkDate: { value: string; ms: number | undefined } = { value: '', ms: undefined };

/** Parses YYYYMMDDTHHMMSSZ (UTC); undefined when malformed or not a real date/time. */
export function parseSdkDate(value: string): number | undefined {
  if (value === lastSdkDate.value) return lastSdkDate.ms;
  const ms = parseSdkDateUncached(value);
  lastSdkDate = { value, ms };
  return ms;
}

function parseSdkDateUncached(value: string): number | undefined {
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

// ---------------------------------------------------------------------------------------------
// Client side: everything a signer needs except the two hash functions.

export interface SigningRequest {
  method: string;
  /** Path plus optional query exactly as it will be sent (already percent-encoded). */
  url: string;
  /** Headers that will be sent and must be signed (include `host` to bind the host). */
  headers?: Record<string, string>;
  /** Signing time; defaults to now. */
  date?: Date;
  /** Leave the body out of the signature (adds X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD). */
  unsignedPayload?: boolean;
}

export interface SigningPlan {
  sdkDate: string;
  /** Headers to add to the request (X-Sdk-Date, maybe X-Sdk-Content-Sha256); Authorization comes last. */
  added: Record<string, string>;
  signedHeaders: string[];
  canonical: string;
}

/**
 * Lays out a signature the way the official SDKs do (every given header plus X-Sdk-Date is
 * signed). `bodySha256Hex` is the hex SHA-256 of the body bytes. Throws SignatureFormatError on
 * input the server would reject anyway.
 */
export function planSignature(req: SigningRequest, bodySha256Hex: string): SigningPlan {
  const sdkDate = formatSdkDate((req.date ?? new Date()).getTime());
  const added: Record<string, string> = { 'X-Sdk-Date': sdkDate };
  if (req.unsignedPayload) added['X-Sdk-Content-Sha256'] = UNSIGNED_PAYLOAD;

  const byName = new Map<string, string>();
  for (const [name, value] of [...Object.entries(req.headers ?? {}), ...Object.entries(added)]) {
    const lower = name.toLowerCase();
    if (lower === 'authorization') continue;
    if (byName.has(lower)) throw new SignatureFormatError(`header ${lower} given twice`);
    if (!HEADER_NAME_RE.test(lower)) throw new SignatureFormatError(`invalid header name ${JSON.stringify(name)}`);
    byName.set(lower, String(value));
  }
  const signedHeaders = [...byName.keys()].sort(compareStrings);
  // The server accepts a declared hash only if it is UNSIGNED-PAYLOAD or the body's own.
  const declared = byName.get('x-sdk-content-sha256')?.trim();
  if (declared !== undefined && declared !== UNSIGNED_PAYLOAD && declared.toLowerCase() !== bodySha256Hex) {
    throw new SignatureFormatError('X-Sdk-Content-Sha256 is neither UNSIGNED-PAYLOAD nor the body hash');
  }
  const canonical = buildCanonicalRequest({
    method: req.method,
    rawUrl: req.url,
    headerValues: (n) => (byName.has(n) ? [byName.get(n)!] : undefined),
    payloadHash: declared ?? bodySha256Hex,
  }, signedHeaders);
  if (!canonical.ok) throw new SignatureFormatError(canonical.reason);
  return { sdkDate, added, signedHeaders, canonical: canonical.value };
}

export const authorizationValue = (accessKey: string, signedHeaders: string[], signatureHex: string): string =>
  `${SIGNING_ALGORITHM} Access=${accessKey}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signatureHex}`;
