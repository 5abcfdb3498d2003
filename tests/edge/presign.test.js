'use strict';
/** The hand-written SigV4 presigner against the AWS SDK's own signer (@smithy/signature-v4). */
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const crypto = require('crypto');
const h = require('./harness');
const { SignatureV4 } = require('@smithy/signature-v4');
const { presignGet, keyPath } = require(path.join(h.ROOT, 'lambda/edge/js/presign'));

class Sha256 {
  constructor(secret) {
    this.h = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256');
  }
  update(d) {
    this.h.update(d);
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
}

test('presigned GETs match the SDK signer', async () => {
  const now = new Date('2026-03-04T05:06:07Z');
  for (const credentials of [
    { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'IQoJb3JpZ2luX2VjE+/token==' },
  ]) {
    for (const [key, params] of [
      ["v/shop%2Fa b(1)!*'.jpg/fit=contain&fm=webp&h=200&w=300", {}],
      ['v/caf%C3%A9/w=1', {}],
      // A degraded answer asks S3 for a short Cache-Control.
      ['v/shop%2Fa.jpg/w=1', { 'response-cache-control': 'public, max-age=60' }],
    ]) {
      const host = 'cdn-variants.s3.eu-west-1.amazonaws.com';
      const p = keyPath(key);
      const ours = new URLSearchParams(presignGet({ host, path: p, region: 'eu-west-1', credentials, now, expiresIn: 300, params }));
      for (const [k, v] of Object.entries(params)) assert.equal(ours.get(k), v);
      const signer = new SignatureV4({ service: 's3', region: 'eu-west-1', credentials, sha256: Sha256, uriEscapePath: false, applyChecksum: false });
      const signed = await signer.presign(
        { method: 'GET', protocol: 'https:', hostname: host, path: p, query: { ...params }, headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
        // The payload hash travels as an unsigned header: S3 query auth uses UNSIGNED-PAYLOAD.
        { signingDate: now, expiresIn: 300, unsignableHeaders: new Set(['x-amz-content-sha256']), unhoistableHeaders: new Set(['x-amz-content-sha256']) },
      );
      assert.equal(ours.get('X-Amz-Signature'), signed.query['X-Amz-Signature'], key);
      assert.equal(ours.get('X-Amz-Credential'), signed.query['X-Amz-Credential']);
      assert.equal(ours.get('X-Amz-Security-Token'), signed.query['X-Amz-Security-Token'] ?? null);
      // The path decodes back to the key (S3 decodes the request path once).
      assert.equal(p.split('/').map(decodeURIComponent).join('/'), '/' + key);
    }
  }
});
