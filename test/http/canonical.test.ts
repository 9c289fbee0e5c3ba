/**
 * Issue 9, class 6: the canonical request the verifier builds from the wire equals, byte for
 * byte, the one the official signer (AKSKSigner, @huaweicloud/huaweicloud-sdk-core) signed from
 * the client's view, for generated paths and queries; and a correctly signed request with an
 * unusual task id is refused for its format (400 DCS.4070), never for its signature.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import url from 'node:url';
import querystring from 'node:querystring';
import fc from 'fast-check';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { buildCanonicalRequest } from '../../src/auth/canonical.js';
import { client } from '../helpers/client.js';
import { startService, type Service } from '../helpers/service.js';

/** ASCII a client may put in a path segment: everything printable but / ? #, plus %-escapes. */
const pathChar = fc.oneof(
  fc.constantFrom(...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).filter((c) => !'/?#'.includes(c))),
  fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`),
  fc.constantFrom('%', '%2', '%zz', '%00', '%2F', '%25'),
);
// Dot segments (".", "..", "%2e") are resolved by the client's URL before sending, so what was
// signed never reaches any server: left out. A URL's leading and trailing spaces are stripped
// before parsing, so "%2E " at the end of a path is a dot segment on the wire too.
const isDotSegment = (s: string) => /^(\.|%2e){1,2}$/i.test(s.trim());
const segment = fc.array(pathChar, { maxLength: 12 }).map((cs) => cs.join('')).filter((s) => !s.split('\\').some(isDotSegment));
const pathOf = fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => `/${s.join('/')}`);
const query = fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 12 }), { maxKeys: 4 });

/** The SDK's canonical URI and query (lines 2 and 3 of its canonical request) for an endpoint. */
function sdkCanonical(endpoint: string, queryParams: Record<string, string>): [string, string] {
  const pathname = url.parse(endpoint, true).pathname!; // what AKSKSigner.sign signs
  return [(AKSKSigner as any).CanonicalURI(pathname), (AKSKSigner as any).CanonicalQueryString({ queryParams })];
}

/** Ours, from what goes on the wire: the WHATWG URL's path (fetch, axios) and querystring's encoding. */
function ourCanonical(endpoint: string, queryParams: Record<string, string>): [string, string] {
  const wirePath = new URL(endpoint).pathname;
  const qs = querystring.stringify(queryParams);
  const r = buildCanonicalRequest({ method: 'GET', rawUrl: qs ? `${wirePath}?${qs}` : wirePath, headerValues: () => undefined, payloadHash: '-' }, []);
  assert.ok(r.ok, !r.ok ? r.reason : '');
  const [, uri, q] = r.value.split('\n');
  return [uri!, q!];
}

test('canonical URI and query equal the official signer\'s for generated paths and queries', () => {
  fc.assert(
    fc.property(pathOf, query, (p, q) => {
      const endpoint = `http://127.0.0.1:8080${p}`;
      assert.deepEqual(ourCanonical(endpoint, q), sdkCanonical(endpoint, q), `path ${JSON.stringify(p)} query ${JSON.stringify(q)}`);
    }),
    { numRuns: 5000 },
  );
});

let svc: Service;
before(async () => { svc = await startService(); });
after(async () => { await svc?.stop(); });

test('a correctly signed request whose task id has unusual bytes → 400 DCS.4070, never 401', async () => {
  const admin = client(svc.url, svc.admin);
  const fixed = ['%00', "'", '|', '^', '{x}', '`', '"', '<>', '%zz', '%C3%28', 'a b', '%7C', '%5C'];
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.constantFrom(...fixed), segment.filter((s) => s !== '' && !s.includes('\\'))), async (id) => {
      const r = await admin.del(`/v2/{p}/tasks/${id}`);
      assert.equal(r.status, 400, `${JSON.stringify(id)}: ${r.text}`);
      assert.equal(r.body.error_code, 'DCS.4070', `${JSON.stringify(id)}: ${r.text}`);
    }),
    { numRuns: 300 },
  );
});
