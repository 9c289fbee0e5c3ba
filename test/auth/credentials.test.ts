import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CredentialsFileError, createFirstCredential, ensureCredentialsFile, loadCredentialsFile, redactCredential,
  type Credential,
} from '../../src/auth/credentials.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcs-cred-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const SECRET = 'TopSecretValue0123456789abcdefghijklmnop';
const good: Credential = {
  access_key: 'AKALICE0000000000001', secret_key: SECRET, project_id: '0123456789abcdef0123456789abcdef',
  user_id: 'u-alice', user_name: 'alice', role: 'admin',
};

test('createFirstCredential uses Huawei-like formats and fresh randomness', () => {
  const a = createFirstCredential();
  assert.match(a.access_key, /^[A-Z0-9]{20}$/);
  assert.match(a.secret_key, /^[A-Za-z0-9]{40}$/);
  assert.match(a.project_id, /^[0-9a-f]{32}$/);
  assert.match(a.user_id, /^[0-9a-f]{32}$/);
  assert.equal(a.user_name, 'admin');
  assert.equal(a.role, 'admin');
  const b = createFirstCredential();
  assert.notEqual(a.access_key, b.access_key);
  assert.notEqual(a.secret_key, b.secret_key);
  assert.notEqual(a.project_id, b.project_id);
});

test('ensureCredentialsFile creates a 0600 file once, then loads the same credential', (t) => {
  const file = path.join(tempDir(t), 'nested', 'dir', 'credentials.json');
  const first = ensureCredentialsFile(file);
  assert.ok(first.created);
  assert.deepEqual(first.credentials, [first.created]);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(loadCredentialsFile(file), [first.created]);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['credentials.json'], 'no temporary file left behind');

  const second = ensureCredentialsFile(file);
  assert.equal(second.created, null);
  assert.deepEqual(second.credentials, [first.created]);
});

test('ensureCredentialsFile loads an existing valid file without touching it', (t) => {
  const file = path.join(tempDir(t), 'credentials.json');
  fs.writeFileSync(file, JSON.stringify([good, { ...good, access_key: 'AKBOB', role: 'readonly', extra: 1 }]));
  const before = fs.readFileSync(file);
  const { credentials, created } = ensureCredentialsFile(file);
  assert.equal(created, null);
  assert.deepEqual(credentials, [good, { ...good, access_key: 'AKBOB', role: 'readonly' }]); // unknown fields dropped
  assert.deepEqual(fs.readFileSync(file), before);
});

const malformed: Array<[string, string, RegExp]> = [
  ['not JSON', `[{"access_key": "AK1", "secret_key": "${SECRET}"`, /not valid JSON/],
  ['not an array', JSON.stringify(good), /JSON array/],
  ['entry not an object', JSON.stringify([good, 'x']), /entry 2 is not a JSON object/],
  ['missing field', JSON.stringify([(({ user_name: _u, ...rest }) => rest)(good)]), /entry 1: "user_name" must be a non-empty string/],
  ['empty field', JSON.stringify([{ ...good, secret_key: '' }]), /entry 1: "secret_key" must be a non-empty string/],
  ['non-string field', JSON.stringify([{ ...good, user_id: 7 }]), /entry 1: "user_id" must be a non-empty string/],
  ['bad role', JSON.stringify([{ ...good, role: 'root' }]), /entry 1: "role" must be "admin" or "readonly"/],
  ['bad project_id', JSON.stringify([{ ...good, project_id: 'a/b' }]), /entry 1: "project_id"/],
  ['access key with a comma', JSON.stringify([{ ...good, access_key: 'AK,1' }]), /entry 1: "access_key"/],
  ['duplicate access key', JSON.stringify([good, { ...good, secret_key: 'other', user_id: 'u2' }]), /entries 1 and 2 have the same access_key/],
  // A secret in the wrong place must not be echoed either.
  ['secret as role', JSON.stringify([{ ...good, role: SECRET }]), /"role" must be/],
];

for (const [name, content, expected] of malformed) {
  test(`malformed file (${name}) throws a clear CredentialsFileError and is left unchanged`, (t) => {
    const file = path.join(tempDir(t), 'credentials.json');
    fs.writeFileSync(file, content, { mode: 0o600 });
    const before = fs.readFileSync(file);
    for (const load of [loadCredentialsFile, ensureCredentialsFile]) {
      assert.throws(() => load(file), (err: unknown) => {
        assert.ok(err instanceof CredentialsFileError);
        assert.match(err.message, expected);
        assert.ok(err.message.includes(file), 'message names the file');
        assert.ok(!err.message.includes(SECRET) && !err.message.includes('TopSecret'), 'message leaks the secret');
        assert.ok(!err.message.includes('\n'), 'one line');
        return true;
      });
    }
    assert.deepEqual(fs.readFileSync(file), before);
  });
}

test('an unreadable path (a directory) is a CredentialsFileError, not a crash', (t) => {
  const dir = tempDir(t);
  assert.throws(() => loadCredentialsFile(dir), CredentialsFileError);
  assert.throws(() => ensureCredentialsFile(dir), CredentialsFileError);
  assert.throws(() => loadCredentialsFile(path.join(dir, 'missing.json')), /cannot be read \(ENOENT\)/);
});

test('redactCredential drops only the secret key', () => {
  const r = redactCredential(good);
  assert.deepEqual(r, { access_key: good.access_key, project_id: good.project_id, user_id: good.user_id, user_name: 'alice', role: 'admin' });
  assert.ok(!JSON.stringify(r).includes(SECRET));
});
