'use strict';
/**
 * Region failures, with servers of its own (stopping one loses moto's state). The
 * variants bucket lives in the primary region, as the composition puts it.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const sharp = require('sharp');
const { PutObjectCommand, ListObjectsV2Command } = require('@aws-sdk/client-s3');

const PRIMARY = { region: 'us-east-1', bucket: 'fo-originals-use1' };
const REPLICA = { region: 'us-west-2', bucket: 'fo-originals-usw2' };
const FALLBACK = { region: 'eu-west-1', bucket: 'fo-originals-euw1' };
const VARIANTS = { region: 'us-east-1', bucket: 'fo-variants-use1' };
const SETTINGS = { variantsBucket: VARIANTS.bucket, variantsRegion: VARIANTS.region, fallbackBucket: FALLBACK.bucket, fallbackRegion: FALLBACK.region };
const SOURCES = ['04', '07', '10'];

const event = (f, q, origin) =>
  h.originRequestEvent({ uri: `/shop/${h.corpus(f + '_').name}`, querystring: q, bucket: origin.bucket, region: origin.region, headers: h.originHeaders(SETTINGS) });

async function listVariants(clients) {
  const out = await clients(VARIANTS.region).send(new ListObjectsV2Command({ Bucket: VARIANTS.bucket }));
  return (out.Contents || []).map((o) => o.Key).sort();
}

test('a region fails mid-test: requests are served from the fallback region', async () => {
  const servers = Object.fromEntries((await Promise.all([PRIMARY, REPLICA, FALLBACK].map((o) => h.MotoServer.start(o.region)))).map((m) => [m.region, m]));
  const endpoints = Object.fromEntries(Object.values(servers).map((m) => [m.region, m.endpoint]));
  const clients = h.clientsFor(endpoints);
  try {
    for (const o of [PRIMARY, REPLICA, FALLBACK, VARIANTS]) await h.createBucket(clients(o.region), o.bucket, o.region);
    for (const o of [PRIMARY, REPLICA, FALLBACK]) {
      for (const f of SOURCES) {
        const { name, bytes } = h.corpus(f + '_');
        await clients(o.region).send(new PutObjectCommand({ Bucket: o.bucket, Key: `shop/${name}`, Body: bytes }));
      }
    }
    const { handler, logs } = h.testHandler(endpoints);

    // Healthy: served from the replica origin (CloudFront's second attempt).
    for (const f of SOURCES) assert.equal((await handler(event(f, 'w=100', REPLICA))).status, '200');
    // From the primary origin, the same variants are served from the store and verified
    // against the primary region: cached long.
    for (const f of SOURCES) {
      const r = await handler(event(f, 'w=100', PRIMARY));
      assert.deepEqual([r.status, h.headerValue(r, 'cache-control'), logs.at(-1).outcome], ['200', 'public, max-age=31536000', 'stored-inline']);
    }

    // The replica's region goes down while requests are in flight.
    const inflight = SOURCES.flatMap((f) => [110, 120, 130].map((w) => handler(event(f, `w=${w}`, REPLICA))));
    await servers[REPLICA.region].stop();
    const after = SOURCES.map((f) => handler(event(f, 'fm=webp&w=140', REPLICA)));
    for (const r of await Promise.all([...inflight, ...after])) {
      assert.equal(r.status, '200', r.body);
      // CloudFront used its failover origin: the primary region (where deletions happen)
      // was not asked, so the answer is cached briefly, though stored.
      assert.equal(h.headerValue(r, 'cache-control'), 'public, max-age=60');
      const meta = await sharp(Buffer.from(r.body, 'base64')).metadata();
      assert.ok([100, 110, 120, 130, 140].includes(meta.width));
    }
    assert.ok(logs.some((l) => (l.notes || []).some((n) => n.includes(REPLICA.bucket))), 'the replica failure is logged');
    // Nothing lost: every variant rendered is stored.
    const widths = ['w=100', 'w=110', 'w=120', 'w=130', 'fm=webp&w=140'];
    const expected = SOURCES.flatMap((f) => widths.map((q) => `v/${encodeURIComponent(`shop/${h.corpus(f + '_').name}`)}/${q}`)).sort();
    assert.deepEqual(await listVariants(clients), expected);

    // Now the primary region (originals and variants) goes down too: the third region
    // still serves, but nothing can be stored, so the answer is cached briefly only.
    await servers[PRIMARY.region].stop();
    const r = await handler(event('07', 'w=150', PRIMARY));
    assert.equal(r.status, '200', r.body);
    assert.equal(h.headerValue(r, 'cache-control'), 'public, max-age=60');
    assert.equal((await sharp(Buffer.from(r.body, 'base64')).metadata()).width, 150);
    assert.equal(logs.at(-1).outcome, 'rendered-unstored');

    // A variant too large to return inline that cannot be stored: 503, not cached.
    const big = await handler(event('04', 'fm=png&w=2000', PRIMARY));
    assert.deepEqual([big.status, h.headerValue(big, 'cache-control')], ['503', 'no-store']);

    // And with the third region gone as well: 503 no-store.
    await servers[FALLBACK.region].stop();
    const none = await handler(event('07', 'w=160', PRIMARY));
    assert.deepEqual([none.status, h.headerValue(none, 'cache-control')], ['503', 'no-store']);
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
});
