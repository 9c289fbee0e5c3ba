/**
 * Authenticator: turns a request's credentials (AK/SK signature or X-Auth-Token) into the
 * caller it acts for. HTTP-agnostic: it receives the parts of the request it needs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DcsError, Errors } from '../errors.js';
import { isLoopback } from '../config.js';
import type { Store } from '../store/types.js';
import type { Credential, Role } from './credentials.js';
import { checkSignatureHeaders, verifySignature, type AuthFailure, type SignedRequest } from './signature.js';

export interface Caller {
  accessKey: string | null;
  projectId: string;
  userId: string;
  userName: string;
  role: Role;
  /** How the request proved who it is: a signature, a token, or nothing (--no-auth). */
  via: 'aksk' | 'token' | 'anonymous';
}

/** How often the last use of a credential is written: per request would cost a commit each. */
const USE_RECORD_INTERVAL_MS = 60_000;
/**
 * Credentials shared through the database (multi-node): re-read at most this often when an
 * unknown access key shows up (a credential another node just published), and at least this
 * often anyway (one another node revoked).
 */
const SHARED_MISS_REFRESH_MS = 1_000;
const SHARED_MAX_AGE_MS = 30_000;

/** Where credentials published by other nodes come from (PostgreSQL store). */
export type SharedCredentials = () => Promise<Credential[]>;

export class Authenticator {
  private readonly own = new Map<string, Credential>();
  private byAk = new Map<string, Credential>();
  private sharedAt = -Infinity;
  private readonly lastRecorded = new Map<string, number>();

  constructor(
    credentials: Credential[],
    private readonly store: Store,
    private readonly noAuth = false,
    private readonly shared?: SharedCredentials,
  ) {
    for (const c of credentials) this.own.set(c.access_key, c);
    this.byAk = new Map(this.own);
  }

  /** Re-reads the shared credentials when they are stale, or when `ak` is unknown and a re-read may find it. */
  private async refresh(ak: string | undefined, now: number): Promise<void> {
    if (!this.shared) return;
    const age = now - this.sharedAt;
    const miss = ak !== undefined && !this.byAk.has(ak);
    if (age < SHARED_MAX_AGE_MS && !(miss && age >= SHARED_MISS_REFRESH_MS)) return;
    const next = new Map<string, Credential>();
    for (const c of await this.shared()) next.set(c.access_key, c);
    for (const [ak2, c] of this.own) next.set(ak2, c); // this node's own file wins
    this.byAk = next;
    this.sharedAt = now;
  }

  /**
   * A request that carries no credentials at all (neither a signature nor a token) is refused
   * with this before its body is read: whatever the body, the answer is 401 DCS.1003.
   */
  missingCredentials(headers: SignedRequest['headers']): DcsError | null {
    if (this.noAuth || headers['authorization'] !== undefined || headers['x-auth-token'] !== undefined) return null;
    return Errors.noCredentials();
  }

  /** Authenticates a request for `pathProject` (the project in the URL). Throws DcsError 401. */
  async authenticate(req: SignedRequest, pathProject: string, now = Date.now()): Promise<Caller> {
    if (this.noAuth) {
      // Without credentials, any web page the user opens could call the service (a form POST
      // needs no CORS preflight): a browser's request from another site is refused.
      const foreign = crossSite(req.headers);
      if (foreign) throw Errors.crossSite(foreign);
      return { accessKey: null, projectId: pathProject, userId: 'anonymous', userName: 'anonymous', role: 'admin', via: 'anonymous' };
    }
    let cred: Credential | undefined;
    const token = viaToken(req);
    if (token !== undefined) {
      cred = await this.fromToken(token, now);
    } else {
      await this.refresh(ACCESS_RE.exec(header(req, 'authorization') ?? '')?.[1], now);
      const r = verifySignature(req, (ak) => this.byAk.get(ak)?.secret_key, now);
      if (!r.ok) throw signatureError(r);
      cred = this.byAk.get(r.accessKey)!;
    }
    const headerProject = header(req, 'x-project-id');
    if (pathProject !== cred.project_id || (headerProject !== undefined && headerProject !== cred.project_id)) {
      throw Errors.projectMismatch();
    }
    this.noteUse(cred.access_key, now);
    return { accessKey: cred.access_key, projectId: cred.project_id, userId: cred.user_id, userName: cred.user_name, role: cred.role, via: token !== undefined ? 'token' : 'aksk' };
  }

  /**
   * For a request whose body is refused before it could be read (larger than the limit): what
   * its credentials already show without the body, so that the contract's order holds —
   * authentication, project, role, then parameters. A token is checked in full; a signature's
   * headers and date are (its match needs the body, and whether its access key exists is not
   * told apart from a mismatch). Null when nothing is wrong so far.
   */
  async refusalWithoutBody(req: Omit<SignedRequest, 'body'>, pathProject: string, mutating: boolean, now = Date.now()): Promise<DcsError | null> {
    if (this.noAuth) return null;
    if (viaToken(req) === undefined) {
      const r = checkSignatureHeaders(req, now);
      return r.ok ? null : signatureError(r);
    }
    try {
      // A token needs no body: the whole authentication, then the role.
      return roleRefusal(await this.authenticate({ ...req, body: Buffer.alloc(0) }, pathProject, now), mutating);
    } catch (e) {
      if (e instanceof DcsError) return e;
      throw e;
    }
  }

  /** Issues a token for the caller's credential; only its hash is stored. */
  async issueToken(caller: Caller, ttlSeconds: number, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
    if (caller.via === 'anonymous') throw new DcsError('DCS.4800', 'Tokens cannot be issued when the service runs with --no-auth.');
    if (caller.via === 'token') throw Errors.badParam('credential', 'a token cannot issue another token; sign the request with the AK/SK.');
    if (!caller.accessKey) throw Errors.badParam('credential', 'tokens are issued only to AK/SK credentials.');
    const token = `dcs${randomBytes(32).toString('base64url')}`;
    const expiresAt = now + ttlSeconds * 1000;
    await this.store.insertToken({ hash: hashToken(token), accessKey: caller.accessKey, expiresAt, createdAt: now });
    return { token, expiresAt };
  }

  private async fromToken(token: string, now: number): Promise<Credential> {
    if (token.length > 512) throw Errors.badSignature();
    const t = await this.store.getToken(hashToken(token));
    if (t) await this.refresh(t.accessKey, now);
    const cred = t && this.byAk.get(t.accessKey);
    if (!t || !cred) throw Errors.badSignature();
    if (t.expiresAt <= now) throw Errors.expired('The token has expired.');
    return cred;
  }

  private noteUse(ak: string, now: number): void {
    const last = this.lastRecorded.get(ak) ?? 0;
    if (now - last < USE_RECORD_INTERVAL_MS) return;
    this.lastRecorded.set(ak, now);
    void this.store.recordCredentialUse(ak, now).catch(() => this.lastRecorded.delete(ak));
  }
}

/** A failed signature check as the contract's error. */
function signatureError(r: AuthFailure): DcsError {
  if (r.code === 'DCS.1003') return Errors.noCredentials();
  if (r.code === 'DCS.1002') {
    // Missing, repeated, malformed or too far from now: each says which (none depends on a key).
    return Errors.expired(/15 minutes/.test(r.reason)
      ? 'The request time (X-Sdk-Date) is more than 15 minutes away from the server time.'
      : `The request time is unusable: ${r.reason}.`);
  }
  // One answer for both (auth.md §5): telling them apart would let anyone probe for valid keys.
  if (r.reason.startsWith('unknown access key') || r.reason.startsWith('signature mismatch')) return Errors.signatureRejected();
  return Errors.malformedSignature(r.reason);
}

/** 403 for a change asked by a caller whose role may only read; null when it may. */
export function roleRefusal(caller: Caller, mutating: boolean): DcsError | null {
  return mutating && caller.role !== 'admin' ? Errors.readOnly() : null;
}

/** The token a request authenticates with: X-Auth-Token without an Authorization (which wins). */
function viaToken(req: Pick<SignedRequest, 'headers'>): string | undefined {
  return header(req, 'authorization') === undefined ? header(req, 'x-auth-token') : undefined;
}

const ACCESS_RE = /Access=([^\s,]{1,256})/;
const hashToken = (t: string) => createHash('sha256').update(t).digest('hex');

function header(req: Pick<SignedRequest, 'headers'>, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * What marks a request as sent by a browser for a page of another site: a Host that is not a
 * loopback name (DNS rebinding: evil.example resolved to 127.0.0.1 is "same-origin" to the
 * browser), Sec-Fetch-Site, or an Origin that is not the host the request was sent to ("null"
 * included). None from a script or an SDK, which send neither; the console, served by the
 * service itself, is same-origin.
 */
function crossSite(headers: SignedRequest['headers']): string | null {
  const host = headers['host'];
  if (host !== undefined && !isLoopbackHost(String(host))) return `Host: ${String(host).slice(0, 100)}`;
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return `Sec-Fetch-Site: ${site}`;
  const origin = headers['origin'];
  if (origin === undefined) return null;
  const value = Array.isArray(origin) ? origin.join(', ') : origin;
  try {
    if (new URL(value).host === headers['host']) return null;
  } catch {
    // not a URL: refused like a foreign one
  }
  return `Origin: ${value.slice(0, 100)}`;
}

/** A Host header naming a loopback address or `*.localhost` (RFC 6761: always loopback), with or without a port. */
function isLoopbackHost(host: string): boolean {
  const name = (host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '')).toLowerCase();
  return isLoopback(name) || name.endsWith('.localhost');
}
