'use strict';
/**
 * The origin-request handler end to end: real CloudFront events, moto S3 servers for the
 * primary, replica and fallback regions, the real wasm module, outputs decoded by sharp
 * (libvips: an independent decoder).
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');
const sharp = require('sharp');
const { GetObjectCommand, HeadObjectCommand, PutObjectCommand, ListObjectsV2Command } = require('@aws-sdk/client-s3');

const PRIMARY = { region: 'us-east-1', bucket: 'cdn-originals-use1' };
const REPLICA = { region: 'us-west-2', bucket: 'cdn-originals-usw2' };
const FALLBACK = { region: 'eu-west-1', bucket: 'cdn-originals-euw1' };
const VARIANTS = { region: 'us-east-1', bucket: 'cdn-variants-use1' };
const SETTINGS = {
  variantsBucket: VARIANTS.bucket,
  variantsRegion: VARIANTS.region,
  fallbackBucket: FALLBACK.bucket,
  fallbackRegion: FALLBACK.region,
};
const FILES = ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'];

let servers;
let endpoints;
let clients;

/** Starts one moto server per region and uploads the corpus to all three originals buckets. */
async function startWorld() {
  const list = await Promise.all([PRIMARY, REPLICA, FALLBACK].map((o) => h.MotoServer.start(o.region)));
  const s = Object.fromEntries(list.map((m) => [m.region, m]));
  const eps = Object.fromEntries(list.map((m) => [m.region, m.endpoint]));
  const c = h.clientsFor(eps);
  for (const o of [PRIMARY, REPLICA, FALLBACK, VARIANTS]) await h.createBucket(c(o.region), o.bucket, o.region);
  for (const o of [PRIMARY, REPLICA, FALLBACK]) {
    for (const f of FILES) {
      const { name, bytes } = h.corpus(f + '_');
      await c(o.region).send(new PutObjectCommand({ Bucket: o.bucket, Key: `shop/corpus/${name}`, Body: bytes }));
    }
  }
  return { servers: s, endpoints: eps, clients: c };
}

test.before(async () => {
  ({ servers, endpoints, clients } = await startWorld());
});
test.after(async () => {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
});

function event(uri, querystring, origin = PRIMARY, settings = SETTINGS) {
  return h.originRequestEvent({ uri, querystring, bucket: origin.bucket, region: origin.region, headers: h.originHeaders(settings) });
}
const uriOf = (f) => `/shop/corpus/${encodeURIComponent(h.corpus(f + '_').name)}`;

/** Decodes a generated 200 response. */
async function decoded(r) {
  assert.equal(r.status, '200', r.body);
  assert.equal(r.bodyEncoding, 'base64');
  const body = Buffer.from(r.body, 'base64');
  const meta = await sharp(body).metadata();
  return { body, meta };
}

const SHARP_FORMAT = { 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/webp': 'webp', 'image/avif': 'heif' };

test('every corpus format, inline, stored with its source etag', async () => {
  const { handler } = h.testHandler(endpoints);
  const expected = {
    '01': [320, 180, 'image/jpeg'],
    '02': [320, 180, 'image/jpeg'],
    '03': [320, 180, 'image/jpeg'],
    '04': [320, 200, 'image/jpeg'],
    '05': [320, 483, 'image/jpeg'], // EXIF orientation 6: displayed 2048x3088
    '06': [320, 200, 'image/jpeg'],
    '07': [320, 375, 'image/jpeg'],
    '08': [320, 216, 'image/png'],
    '09': [320, 240, 'image/webp'],
    '10': [320, 213, 'image/png'],
  };
  for (const [f, [w, hgt, type]] of Object.entries(expected)) {
    const r = await handler(event(uriOf(f), 'w=320'));
    const { body, meta } = await decoded(r);
    assert.equal(h.headerValue(r, 'content-type'), type, f);
    assert.equal(meta.format, SHARP_FORMAT[type], f);
    assert.ok(Math.abs(meta.width - w) <= 1 && Math.abs(meta.height - hgt) <= 1, `${f}: ${meta.width}x${meta.height}`);
    assert.equal(h.headerValue(r, 'cache-control'), 'public, max-age=31536000');
    assert.match(h.headerValue(r, 'server-timing'), /^fetch;dur=[\d.]+,transform;dur=[\d.]+,store;dur=[\d.]+$/);

    const key = `v/${encodeURIComponent(`shop/corpus/${h.corpus(f + '_').name}`)}/w=320`;
    const stored = await clients(VARIANTS.region).send(new GetObjectCommand({ Bucket: VARIANTS.bucket, Key: key }));
    const original = await clients(PRIMARY.region).send(new HeadObjectCommand({ Bucket: PRIMARY.bucket, Key: `shop/corpus/${h.corpus(f + '_').name}` }));
    assert.equal(stored.Metadata['source-etag'], original.ETag, f);
    assert.equal(stored.CacheControl, 'public, max-age=31536000');
    assert.equal(stored.ContentType, type);
    assert.deepEqual(Buffer.from(await stored.Body.transformToByteArray()), body, f);
  }
});

test('every output format', async () => {
  const { handler } = h.testHandler(endpoints);
  for (const fm of ['jpeg', 'png', 'webp', 'avif']) {
    const r = await handler(event(uriOf('08'), `fm=${fm}&w=200`));
    const { meta } = await decoded(r);
    assert.equal(h.headerValue(r, 'content-type'), `image/${fm}`);
    assert.equal(meta.format, SHARP_FORMAT[`image/${fm}`]);
    assert.deepEqual([meta.width, meta.height], [200, 135], fm);
    assert.equal(meta.hasAlpha, fm !== 'jpeg', `${fm} alpha`);
  }
});

/** The RIFF chunk ids of a WebP file (VP8 = lossy, VP8L = lossless, ALPH = lossy alpha). */
function webpChunks(buf) {
  assert.equal(buf.toString('latin1', 0, 4), 'RIFF');
  assert.equal(buf.toString('latin1', 8, 12), 'WEBP');
  const ids = [];
  for (let at = 12; at + 8 <= buf.length; at += 8 + buf.readUInt32LE(at + 4) + (buf.readUInt32LE(at + 4) & 1)) {
    ids.push(buf.toString('latin1', at, at + 4));
  }
  return ids;
}

test('WebP from the edge is lossy (libwebp in the wasm build), with alpha kept', async () => {
  const { handler } = h.testHandler(endpoints);
  const photo = Buffer.from((await handler(event(uriOf('02'), 'fm=webp&w=400'))).body, 'base64');
  assert.deepEqual(webpChunks(photo), ['VP8 ']);
  // Within 25% of sharp's (libwebp's) own lossy encoding of the same resize.
  const reference = await sharp(h.corpus('02_').bytes).resize(400).webp({ quality: 80 }).toBuffer();
  assert.ok(photo.length < reference.length * 1.25, `${photo.length} vs sharp ${reference.length}`);
  const logo = Buffer.from((await handler(event(uriOf('08'), 'fm=webp&w=200'))).body, 'base64');
  assert.deepEqual(webpChunks(logo), ['VP8X', 'ALPH', 'VP8 ']);
});

test("outputs are bounded by the claim's maxWidth/maxHeight from the origin header", async () => {
  const { handler } = h.testHandler(endpoints);
  // 04 is 2560x1600: w=1000 within a 300x200 bound gives at most 300x200, aspect kept.
  const bounded = { ...SETTINGS, maxOutput: '300x200' };
  const { meta } = await decoded(await handler(event(uriOf('04'), 'w=1000', PRIMARY, bounded)));
  assert.ok(meta.width <= 300 && meta.height <= 200, `${meta.width}x${meta.height}`);
  // A malformed header is a deployment error: 500, never an unbounded transform.
  const r = await handler(event(uriOf('04'), 'w=1000', PRIMARY, { ...SETTINGS, maxOutput: '300' }));
  assert.equal(r.status, '500');
});

test('every fit mode (sharp semantics, never enlarging)', async () => {
  const { handler } = h.testHandler(endpoints);
  // 04 is 2560x1600; the box is 300x200.
  const cases = { '': [300, 200], 'fit=contain&': [300, 200], 'fit=fill&': [300, 200], 'fit=inside&': [300, 188], 'fit=outside&': [320, 200] };
  for (const [fit, [w, hgt]] of Object.entries(cases)) {
    const { meta } = await decoded(await handler(event(uriOf('04'), `${fit}h=200&w=300`)));
    assert.ok(Math.abs(meta.width - w) <= 1 && Math.abs(meta.height - hgt) <= 1, `${fit}: ${meta.width}x${meta.height}`);
  }
  // 07 is 512x600: a larger box is not enlarged.
  const { meta } = await decoded(await handler(event(uriOf('07'), 'fit=inside&h=2000&w=2000')));
  assert.deepEqual([meta.width, meta.height], [512, 600]);
});

test('the original itself is forwarded unchanged', async () => {
  const { handler } = h.testHandler(endpoints);
  const ev = event(uriOf('07'), '');
  const before = JSON.stringify(ev.Records[0].cf.request);
  const r = await handler(ev);
  assert.equal(r, ev.Records[0].cf.request);
  assert.equal(JSON.stringify(r), before);
});

test('a pre-computed variant is served without a transform', async () => {
  const { handler, logs } = h.testHandler(endpoints);
  const marker = await sharp({ create: { width: 7, height: 5, channels: 3, background: '#f00' } }).webp().toBuffer();
  const key = `v/${encodeURIComponent(`shop/corpus/${h.corpus('02_').name}`)}/fm=webp&h=200&q=70&w=200`;
  // As the renderer stores it: rendered from the original's current version.
  const original = await clients(PRIMARY.region).send(new HeadObjectCommand({ Bucket: PRIMARY.bucket, Key: `shop/corpus/${h.corpus('02_').name}` }));
  await clients(VARIANTS.region).send(
    new PutObjectCommand({ Bucket: VARIANTS.bucket, Key: key, Body: marker, ContentType: 'image/webp', CacheControl: 'public, max-age=31536000', Metadata: { 'source-etag': original.ETag } }),
  );
  const r = await handler(event(uriOf('02'), 'fm=webp&h=200&q=70&w=200'));
  const { meta } = await decoded(r);
  assert.deepEqual([meta.width, meta.height, meta.format], [7, 5, 'webp']);
  assert.equal(h.headerValue(r, 'content-type'), 'image/webp');
  assert.match(h.headerValue(r, 'server-timing'), /^fetch;dur=[\d.]+$/);
  assert.equal(logs.at(-1).outcome, 'stored-inline');
});

test('a variant over 1 MB is stored and the request pointed at the variants bucket', async () => {
  const { handler, logs } = h.testHandler(endpoints);
  const ev = event(uriOf('01'), 'fm=png&w=1600');
  const r = await handler(ev);
  assert.equal(r.status, undefined, 'a request, not a response');
  assert.equal(logs.at(-1).outcome, 'rendered-origin');
  const domain = `${VARIANTS.bucket}.s3.${VARIANTS.region}.amazonaws.com`;
  assert.deepEqual(r.origin, { s3: { authMethod: 'none', customHeaders: {}, domainName: domain, path: '', region: VARIANTS.region } });
  assert.deepEqual(r.headers.host, [{ key: 'Host', value: domain }]);
  const key = `v/${encodeURIComponent(`shop/corpus/${h.corpus('01_').name}`)}/fm=png&w=1600`;
  assert.equal(r.uri.split('/').map(decodeURIComponent).join('/'), '/' + key);
  assert.match(r.querystring, /X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=testing%2F\d{8}%2Fus-east-1%2Fs3%2Faws4_request&.*X-Amz-Signature=[0-9a-f]{64}$/);

  // What CloudFront then fetches: the object at that path (path-style on moto).
  const res = await fetch(`${endpoints[VARIANTS.region]}/${VARIANTS.bucket}${r.uri}?${r.querystring}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000');
  const body = Buffer.from(await res.arrayBuffer());
  assert.ok(body.length > 1_000_000, `${body.length} bytes`);
  const meta = await sharp(body).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 1600, 900]);

  // The next miss for the same key finds it stored: pointed again, no transform.
  const again = await handler(event(uriOf('01'), 'fm=png&w=1600'));
  assert.equal(again.uri, r.uri);
  assert.equal(logs.at(-1).outcome, 'stored-origin');
});

test('hostile and wrong requests get the right status', async () => {
  const { handler, engine } = h.testHandler(endpoints);
  const statusOf = async (uri, q, origin) => {
    const r = await handler(event(uri, q, origin));
    return [Number(r.status), h.headerValue(r, 'cache-control'), r.body];
  };
  assert.deepEqual((await statusOf(uriOf('11'), 'w=400')).slice(0, 2), [422, 'public, max-age=60']);

  const rss0 = process.memoryUsage().rss;
  const [bomb, , msg] = await statusOf(uriOf('12'), 'w=400');
  assert.equal(bomb, 413, msg);
  assert.ok(process.memoryUsage().rss - rss0 < 64 << 20, 'bomb raised RSS by more than 64 MiB');
  assert.ok(engine.memoryBytes() < 128 << 20, `wasm memory ${engine.memoryBytes()}`);

  for (const uri of ['/shop/../partners/media/a.jpg', '/shop/%2e%2e/corpus/x.jpg', '/shop/./a.jpg', '/other/a.jpg', '/shopping/a.jpg', '/partners/a.jpg']) {
    assert.equal((await statusOf(uri, 'w=400'))[0], 403, uri);
    assert.equal((await statusOf(uri, ''))[0], 403, `${uri} without a query`);
  }
  for (const q of ['w=400&fm=webp', 'W=400', 'w=0400', 'utm_source=x', 'fit=cover&h=1&w=1', 'q=150', 'w=abc']) {
    assert.equal((await statusOf(uriOf('07'), q))[0], 400, q);
  }
  assert.deepEqual((await statusOf('/shop/missing.jpg', 'w=400')).slice(0, 2), [404, 'public, max-age=60']);

  // The claim's own limits: 1 MiB source, 1 MP.
  const tight = { ...SETTINGS, megabytes: 1, megapixels: 1 };
  const r = await handler(h.originRequestEvent({ uri: uriOf('02'), querystring: 'w=100', bucket: PRIMARY.bucket, region: PRIMARY.region, headers: h.originHeaders(tight) }));
  assert.equal(r.status, '413', r.body);
  const r2 = await handler(h.originRequestEvent({ uri: uriOf('07'), querystring: 'w=101', bucket: PRIMARY.bucket, region: PRIMARY.region, headers: h.originHeaders({ ...tight, megabytes: 2 }) }));
  assert.equal(r2.status, '200', r2.body);
});

test('misconfigured origins fail closed', async () => {
  const { handler } = h.testHandler(endpoints);
  const noVariants = { ...SETTINGS, variantsBucket: undefined };
  let r = await handler(event(uriOf('07'), 'w=100', PRIMARY, noVariants));
  assert.deepEqual([r.status, h.headerValue(r, 'cache-control')], ['500', 'no-store']);
  const ev = event(uriOf('07'), 'w=100');
  ev.Records[0].cf.request.origin.s3.domainName = 'evil.example.com';
  r = await handler(ev);
  assert.equal(r.status, '500');
});

test('a trap answers 500 and the next request gets a fresh instance', async () => {
  const { handler, engine } = h.testHandler(endpoints);
  await decoded(await handler(event(uriOf('07'), 'w=50')));
  const before = engine.instances;
  // An out-of-bounds handle traps inside wasm, like a panic would.
  const r = engine.call(() => 0xfffffff0);
  assert.equal(r.status, 500);
  assert.match(r.meta.error, /trapped/);
  const { meta } = await decoded(await handler(event(uriOf('07'), 'w=51')));
  assert.equal(meta.width, 51);
  assert.equal(engine.instances, before + 1);
});

test('every origin down: 503 no-store', async () => {
  const { handler } = h.testHandler({ ...endpoints, 'ap-south-1': undefined, 'sa-east-1': undefined });
  const down = { ...SETTINGS, fallbackBucket: 'cdn-originals-sae1', fallbackRegion: 'sa-east-1' };
  const r = await handler(event(uriOf('07'), 'w=100', { bucket: 'cdn-originals-aps1', region: 'ap-south-1' }, down));
  assert.deepEqual([r.status, h.headerValue(r, 'cache-control')], ['503', 'no-store']);
});
