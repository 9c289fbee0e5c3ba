// The credentials file: a JSON array of AK/SK credentials (spec/interface.md, spec/auth.md).
// Error messages name the file and the problem but never echo file content: a value in the
// wrong place could be a secret key.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeDirs } from '../make-dirs.js';

export type Role = 'admin' | 'readonly';
export interface Credential {
  access_key: string;
  secret_key: string;
  project_id: string;
  user_id: string;
  user_name: string;
  role: Role;
}

export class CredentialsFileError extends Error {
  override name = 'CredentialsFileError';
}

const FIELDS = ['access_key', 'secret_key', 'project_id', 'user_id', 'user_name', 'role'] as const;
const PROJECT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
// Printable ASCII without space or comma: anything else could not be sent in
// "Authorization: SDK-HMAC-SHA256 Access=<ak>, ..." and would never authenticate.
const ACCESS_KEY_RE = /^[\x21-\x2b\x2d-\x7e]{1,256}$/;

function problem(file: string, what: string): CredentialsFileError {
  return new CredentialsFileError(`credentials file ${file}: ${what}`);
}

/** Reads and validates a credentials file; throws CredentialsFileError on any problem. */
export function loadCredentialsFile(file: string): Credential[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw problem(file, `cannot be read (${code})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // Not JSON.parse's message: recent V8 quotes the text around the error, i.e. maybe a secret.
    throw problem(file, 'is not valid JSON');
  }
  if (!Array.isArray(data)) throw problem(file, 'must contain a JSON array of credentials');

  const seen = new Map<string, number>();
  return data.map((entry: unknown, i): Credential => {
    const where = `entry ${i + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw problem(file, `${where} is not a JSON object`);
    }
    const e = entry as Record<string, unknown>;
    for (const f of FIELDS) {
      if (typeof e[f] !== 'string' || e[f] === '') throw problem(file, `${where}: "${f}" must be a non-empty string`);
    }
    const c = Object.fromEntries(FIELDS.map((f) => [f, e[f]])) as unknown as Credential;
    if (!ACCESS_KEY_RE.test(c.access_key)) {
      throw problem(file, `${where}: "access_key" must be printable ASCII without spaces or commas`);
    }
    if (!PROJECT_ID_RE.test(c.project_id)) {
      throw problem(file, `${where}: "project_id" must be 1-64 characters of A-Z a-z 0-9 _ -`);
    }
    if (c.role !== 'admin' && c.role !== 'readonly') {
      throw problem(file, `${where}: "role" must be "admin" or "readonly"`);
    }
    const first = seen.get(c.access_key);
    if (first !== undefined) throw problem(file, `entries ${first} and ${i + 1} have the same access_key`);
    seen.set(c.access_key, i + 1);
    return c;
  });
}

const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// Uniform choice from the alphabet: bytes past the largest multiple of its length are dropped
// (a plain `byte % length` would favour the first characters).
function randomString(alphabet: string, length: number): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit && out.length < length) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

/** A new admin credential for a new project, in Huawei Cloud's formats. */
export function createFirstCredential(): Credential {
  return {
    access_key: randomString(UPPER_DIGITS, 20),
    secret_key: randomString(ALNUM, 40),
    project_id: randomBytes(16).toString('hex'),
    user_id: randomBytes(16).toString('hex'),
    user_name: 'admin',
    role: 'admin',
  };
}

/**
 * Loads the credentials file, or creates it with one new admin credential when it does not
 * exist (then `created` is that credential, to be shown once). An existing file is never
 * replaced, even a malformed one.
 */
export function ensureCredentialsFile(file: string): { credentials: Credential[]; created: Credential | null } {
  if (fs.existsSync(file)) return { credentials: loadCredentialsFile(file), created: null };

  const dir = path.dirname(file);
  const created = createFirstCredential();
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    makeDirs(dir);
    // Write the whole file under a temporary name (0600 from the start: the secret is never
    // readable by others, even briefly), then publish it in one step.
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.fchmodSync(fd, 0o600); // openSync's mode is reduced by the umask; make it exact
      fs.writeFileSync(fd, JSON.stringify([created], null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (!publish(tmp, file)) {
      // Another process created the file meanwhile: use theirs.
      return { credentials: loadCredentialsFile(file), created: null };
    }
  } catch (err) {
    if (err instanceof CredentialsFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw problem(file, `cannot be created (${code})`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return { credentials: [created], created };
}

// link() fails with EEXIST instead of replacing, which rename() would do, so a file created
// concurrently is never overwritten. Falls back to rename on file systems without hard links.
// Returns false when the target already exists.
function publish(tmp: string, file: string): boolean {
  try {
    fs.linkSync(tmp, file);
    syncDir(path.dirname(file));
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
  }
  if (fs.existsSync(file)) return false;
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
  return true;
}

// Makes the new directory entry durable; best effort (not every platform can fsync a directory).
function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // ignore
  }
}

/** The credential without its secret key, for logs and API responses. */
export function redactCredential(c: Credential): Omit<Credential, 'secret_key'> {
  const { secret_key: _secret, ...rest } = c;
  return rest;
}
