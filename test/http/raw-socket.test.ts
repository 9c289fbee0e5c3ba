/**
 * Issue 9, class 3 and the timeouts: bytes written straight to a socket (net.connect), as a
 * hostile or broken client would. Whatever Node's parser or Fastify's router refuses is answered
 * with the contract's error body, X-Request-Id and Content-Type: application/json; slow and
 * surplus connections are closed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { startService, type Service } from '../helpers/service.js';
import { credentialOf, waitFor } from '../helpers/client.js';

let svc: Service;
let port: number;
let project: string;

before(async () => {
  svc = await startService({
    env: { DCS_HEADERS_TIMEOUT_MS: '1000', DCS_REQUEST_TIMEOUT_MS: '2000', DCS_KEEP_ALIVE_TIMEOUT_MS: '1000', DCS_MAX_CONNECTIONS: '4' },
  });
  port = Number(new URL(svc.url).port);
  project = svc.admin.project_id;
});

after(async () => {
  await svc?.stop();
});

interface RawAnswer { status: number; headers: Map<string, string>; body: any; text: string; closedAfterMs: number | null }

/** Writes `bytes`, reads until the server closes the connection (or `waitMs`), parses the first answer. */
function raw(bytes: string | Buffer, waitMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closedAfterMs: number | null = null;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      let body: unknown;
      try { body = JSON.parse(rest.join('\r\n\r\n')); } catch { body = undefined; }
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body, text, closedAfterMs });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => { closedAfterMs = Date.now() - started; finish(); });
    socket.write(bytes, () => {});
  });
}

function assertContract(r: RawAnswer, status: number, code: string, what: string) {
  assert.equal(r.status, status, `${what}: ${r.text.slice(0, 400)}`);
  assert.deepEqual(Object.keys(r.body ?? {}).sort(), ['error_code', 'error_ext_msg', 'error_msg'], `${what}: ${r.text.slice(0, 400)}`);
  assert.equal(r.body.error_code, code, `${what}: ${r.text.slice(0, 400)}`);
  assert.equal(r.body.error_ext_msg, null);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, what);
  assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/, what);
}

const get = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

/** A GET of `path` signed by the official signer as the admin, sent with request target `target`. */
function signedGet(path: string, target = path, extra = ''): string {
  const headers = AKSKSigner.sign({ endpoint: `${svc.url}${path}`, method: 'GET', headers: { 'content-type': 'application/json' }, queryParams: {} } as any,
    credentialOf(svc.admin)) as Record<string, string>;
  return `GET ${target} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}${extra}\r\n`;
}

test('malformed HTTP → 400 DCS.4800 in the contract shape, then the connection closes', async () => {
  const cases: [string, string | Buffer][] = [
    ['lower-case method', 'get /health HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['unknown method', 'BREW /health HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['control character in a header value', get('/health', 'X-A: a\x01b\r\n')],
    ['NUL in a header value', get('/health', 'X-A: a\x00b\r\n')],
    ['Content-Length with Transfer-Encoding', `POST /v2/${project}/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['bad chunk size', `DELETE /v2/${project}/tasks/8abf6e1e72c12e7c0172c15b508500aa HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`],
    ['header block over 16 KiB', get('/health', `X-Big: ${'a'.repeat(20_000)}\r\n`)],
    ['not HTTP at all', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'],
  ];
  for (const [what, bytes] of cases) {
    const r = await raw(bytes);
    assertContract(r, 400, 'DCS.4800', what);
    assert.match(r.body.error_msg, /request|headers/, what);
    assert.notEqual(r.closedAfterMs, null, `${what}: the connection stays open`);
  }
});

test('a repeated Authorization header → 401 DCS.1001, whichever copy carries the valid signature', async () => {
  const path = `/v2/${project}/tasks`;
  const valid = signedGet(path);
  const validFirst = valid.replace(/\r\n\r\n$/, '\r\nAuthorization: SDK-HMAC-SHA256 Access=x, SignedHeaders=x-sdk-date, Signature=' + '0'.repeat(64) + '\r\n\r\n');
  const validLast = valid.replace(/^(GET [^\r]*\r\n)/, '$1Authorization: garbage\r\n');
  assert.equal((await raw(valid.replace(/\r\n\r\n$/, '\r\nConnection: close\r\n\r\n'))).status, 200, 'the signed request alone is accepted');
  for (const [what, bytes] of [['valid copy first', validFirst], ['valid copy last', validLast]]) {
    const r = await raw(bytes!.replace(/\r\n\r\n$/, '\r\nConnection: close\r\n\r\n'));
    assertContract(r, 401, 'DCS.1001', what!);
  }
});

test('a valid request pipelined before a malformed one is answered first, then the 400, then the connection closes', async () => {
  const r = await raw(signedGet(`/v2/${project}/tasks`) + get('/health', 'Content-Length: abc\r\n'));
  const statuses = [...r.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [200, 400], r.text.slice(0, 600));
  assert.match(r.text, /"task_count"/, 'the first answer is the list');
  assert.match(r.text, /"error_code":"DCS.4800"/);
  assert.notEqual(r.closedAfterMs, null, 'the connection closes after the 400');
});

test('an absolute-form target (GET http://host/path) is signed and served as its path', async () => {
  const path = `/v2/${project}/tasks`;
  const r = await raw(signedGet(path, `${svc.url}${path}`, 'Connection: close\r\n'));
  assert.equal(r.status, 200, r.text.slice(0, 400));
  assert.deepEqual(r.body, { task_count: '0', tasks: [] });
});

test('an Expect other than 100-continue → 417 and a CONNECT → 400, in the contract shape (Node answered bare or not at all)', async () => {
  const expect = await raw(get('/health', 'Expect: bogus\r\n'));
  assertContract(expect, 417, 'DCS.4800', 'Expect: bogus');
  assert.match(expect.body.error_msg, /Expect/);
  const connect = await raw('CONNECT 127.0.0.1:6379 HTTP/1.1\r\nHost: 127.0.0.1:6379\r\n\r\n');
  assertContract(connect, 400, 'DCS.4800', 'CONNECT');
  assert.match(connect.body.error_msg, /CONNECT/);
  assert.notEqual(connect.closedAfterMs, null, 'the CONNECT connection closes');
});

test('a request without Host reaches the routes and gets the contract answer', async () => {
  const r = await raw(`GET /v2/${project}/tasks HTTP/1.1\r\nConnection: close\r\n\r\n`);
  assertContract(r, 401, 'DCS.1003', 'no Host');
  const health = await raw('GET /health HTTP/1.1\r\nConnection: close\r\n\r\n');
  assert.equal(health.status, 200, health.text);
});

test('undecodable or overlong path segments: id-format code after authentication, 404 where no route can match', async () => {
  const cases: [string, number, string][] = [
    [`/v2/${project}/jobs/%zz`, 401, 'DCS.1003'], // a task route: authentication comes first
    [`/v2/${project}/jobs/%C3%28`, 401, 'DCS.1003'],
    [`/v2/${project}/jobs/${'a'.repeat(5000)}`, 401, 'DCS.1003'],
    ['/v2/%zz/tasks', 401, 'DCS.1003'],
    ['/%zz/nothing', 404, 'DCS.4001'],
    [`/v2/${project}/t%FFasks`, 404, 'DCS.4001'],
    [`/${'b'.repeat(6000)}`, 404, 'DCS.4001'],
  ];
  for (const [target, status, code] of cases) {
    const r = await raw(get(target, 'Connection: close\r\n'));
    assertContract(r, status, code, target.slice(0, 60));
    assert.ok(!r.text.includes('FST_ERR'), r.text.slice(0, 200));
    assert.ok(!r.text.includes('a'.repeat(100)), 'the path is not echoed');
  }
});

test('slow headers and slow bodies are cut off by the timeouts', async () => {
  const slowHeaders = await raw('GET /health HTTP/1.1\r\nHost: x\r\n', 8000);
  assert.notEqual(slowHeaders.closedAfterMs, null, 'a connection with unfinished headers stays open');
  assert.ok(slowHeaders.closedAfterMs! < 4000, `closed after ${slowHeaders.closedAfterMs} ms`);
  assertContract(slowHeaders, 400, 'DCS.4800', 'slow headers');

  const slowBody = await raw(`DELETE /v2/${project}/tasks/8abf6e1e72c12e7c0172c15b508500aa HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"mess`, 8000);
  assert.notEqual(slowBody.closedAfterMs, null, 'a connection with an unfinished body stays open');
  assert.ok(slowBody.closedAfterMs! < 5000, `closed after ${slowBody.closedAfterMs} ms`);
});

test('an idle kept-alive connection closes; a connection beyond the cap gets 503 in the contract shape and is closed', async () => {
  // Keep-alive: one answered request, then silence: the server closes the connection.
  const idle = await raw(get('/health'), 8000);
  assert.equal(idle.status, 200, idle.text);
  assert.notEqual(idle.closedAfterMs, null, 'an idle kept-alive connection stays open');
  assert.ok(idle.closedAfterMs! < 5000, `closed after ${idle.closedAfterMs} ms`);

  // Four kept-alive connections, each known to the server (it answered a request on it).
  const open = await Promise.all([1, 2, 3, 4].map(() => new Promise<net.Socket>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(get('/health')));
    s.once('data', () => resolve(s));
    s.on('error', () => {});
  })));
  const closedAt = open.map(() => null as number | null);
  open.forEach((s, i) => s.on('close', () => { closedAt[i] = Date.now(); }));
  // Kept alive (no Connection: close): the server closes it after the 503 all the same.
  const extra = await raw(get(`/v2/${project}/tasks`), 3000);
  const extraClosed = Date.now();
  assertContract(extra, 503, 'DCS.5000', 'a fifth connection');
  assert.match(extra.body.error_msg, /4 connections open/);
  assert.equal(extra.headers.get('retry-after'), '1');
  assert.notEqual(extra.closedAfterMs, null, 'the connection past the cap stays open');
  assert.ok(closedAt.every((t) => t === null || t > extraClosed - 5), 'the cap closed the new connection, not the open ones');
  for (const s of open) s.destroy();
  // Once they are gone, a new connection is served again.
  await waitFor(async () => (await raw(get('/health', 'Connection: close\r\n'), 3000)).status === 200, 5000, 'served again under the cap');
});

test('a client that half-closes after its request (FIN, as `printf … | nc` does) still gets every answer, and the change it made is answered', async () => {
  /** Sends `bytes`, half-closes at once, and reads until the server closes. */
  const halfClosed = (bytes: string) => new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.end(bytes);
  });
  const health = await halfClosed('GET /health HTTP/1.0\r\n\r\n');
  assert.match(health, /^HTTP\/1\.1 200 /, health || '(no answer)');
  assert.match(health, /\r\nx-request-id: [0-9a-f]{32}\r\n/i);

  const path = `/v2/${project}/migration/instance`;
  const body = { name: 'half-closed', vpc_id: 'v', subnet_id: 's', security_group_id: 'g' };
  const headers = AKSKSigner.sign({ endpoint: `${svc.url}${path}`, method: 'POST', headers: { 'content-type': 'application/json' }, queryParams: {}, data: body } as any,
    credentialOf(svc.admin)) as Record<string, string>;
  const text = JSON.stringify(body);
  const answer = await halfClosed(`POST ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  assert.match(answer, /^HTTP\/1\.1 200 /, answer || '(no answer)');
  const created = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).instance_id;
  assert.match(created, /^[0-9a-f]{32}$/);
  const shown = await raw(signedGet(`/v2/${project}/migration-task/${created}`, undefined, 'Connection: close\r\n'));
  assert.equal(shown.status, 200, shown.text);
  assert.equal(shown.body.task_name, 'half-closed');

  const pipelined = await halfClosed(get('/health') + get('/health'));
  assert.equal([...pipelined.matchAll(/HTTP\/1\.1 200 /g)].length, 2, pipelined || '(no answer)');
});
