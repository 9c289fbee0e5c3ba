/**
 * The Web Crypto signer (client/signer.ts) produces exactly the signature of the official
 * Huawei Cloud signer and of the node:crypto signer, because all build the canonical request
 * in auth/canonical.ts; and the server's verifier accepts it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { signRequestAsync } from '../../src/client/signer.js';
import { signRequest, verifySignature, parseSdkDate } from '../../src/auth/signature.js';

const AK = 'AKTESTEXAMPLE0000001';
const SK = 'SkTestExampleSecretKey0123456789abcdefXY';
const PROJECT = 'a4d31cb63d724fdc8ec96e3a41e47f71';

test('same Authorization as the official SDK signer for a DCS call', async () => {
  const path = `/v2/${PROJECT}/instances/3f8a6c1e-52b0-4f1c-9d9e-0b7d2f4e6a11/tasks`;
  const headers = { 'content-type': 'application/json', 'X-Project-Id': PROJECT, 'X-Sdk-Date': '20261122T152106Z' };
  const official = AKSKSigner.sign(
    { endpoint: `http://127.0.0.1:8080${path}`, method: 'GET', headers: { ...headers, host: '127.0.0.1:8080' }, queryParams: { limit: 10, offset: 0 } } as any,
    new BasicCredentials().withAk(AK).withSk(SK),
  ) as Record<string, string>;
  const ours = await signRequestAsync({
    accessKey: AK, secretKey: SK, method: 'GET', url: `${path}?limit=10&offset=0`,
    headers: { 'content-type': 'application/json', 'X-Project-Id': PROJECT, host: '127.0.0.1:8080' }, date: new Date('2026-11-22T15:21:06Z'),
  });
  assert.equal(ours['Authorization'], official['Authorization']);
});

test('Web Crypto and node:crypto signers agree and the verifier accepts (property)', async () => {
  await fc.assert(fc.asyncProperty(
    fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
    fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }), { maxLength: 3 }),
    fc.array(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 6 })), { maxLength: 4 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }), fc.boolean(),
    async (method, segments, pairs, body, unsignedPayload) => {
      const query = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
      const url = '/' + segments.map(encodeURIComponent).join('/') + (query ? `?${query}` : '');
      const date = new Date('2026-05-05T05:05:05Z');
      const headers = { 'Content-Type': 'application/json', 'X-Project-Id': PROJECT };
      const web = await signRequestAsync({ accessKey: AK, secretKey: SK, method, url, headers, body, date, unsignedPayload });
      const node = signRequest({ accessKey: AK, secretKey: SK, method, url, headers, body, date, unsignedPayload });
      assert.deepEqual(web, node);
      const wire: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...headers, ...web })) wire[k.toLowerCase()] = v;
      const r = verifySignature({ method, rawUrl: url, headers: wire, body: Buffer.from(body) }, (ak) => (ak === AK ? SK : undefined), parseSdkDate(web['X-Sdk-Date']!)!);
      assert.deepEqual(r, { ok: true, accessKey: AK });
      // One changed body byte is caught unless the payload is deliberately unsigned.
      const tampered = verifySignature({ method, rawUrl: url, headers: wire, body: Buffer.from(body + 'x') }, () => SK, date.getTime());
      assert.equal(tampered.ok, unsignedPayload);
    },
  ), { numRuns: 200 });
});
