'use strict';
/**
 * The promises the edge keeps across its seams, with real CloudFront events against moto
 * (one server per region) and the real wasm module:
 *
 * - a taken-down original is never served again from the variants bucket, even when a
 *   transform in flight stored its variant after the purge;
 * - an overwritten original is rendered again from the new bytes;
 * - one deadline bounds a request whose region hangs (accepts connections, never
 *   answers): it fails over in time and writes nothing to the hanging region;
 * - a request too costly for the edge in its format gets a stand-in within the deadline
 *   and a render request for the regional renderer;
 * - every original key S3 accepts has storable variants;
 * - the packaged zip's real entry point loads the bundled module at init;
 * - hostile JPEGs (thousands of scans) and damaged files through the wasm decoder give a
 *   4xx, never a trap or a hang.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const { execFileSync } = require('child_process');
const h = require('./harness');
const sharp = require('sharp');
const {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} = require('@aws-sdk/client-s3');

const PRIMARY = { region: 'us-east-1', bucket: 'pr-originals-use1' };
const REPLICA = { region: 'us-west-2', bucket: 'pr-originals-usw2' };
const FALLBACK = { region: 'eu-west-1', bucket: 'pr-originals-euw1' };
const VARIANTS = { region: 'us-east-1', bucket: 'pr-variants-use1' };
const SETTINGS = { variantsBucket: VARIANTS.bucket, variantsRegion: VARIANTS.region, fallbackBucket: FALLBACK.bucket, fallbackRegion: FALLBACK.region };
const LONG = 'public, max-age=31536000';
const SHORT = 'public, max-age=60';

let servers;
let endpoints;
let clients;

test.before(async () => {
  const list = await Promise.all([PRIMARY, REPLICA, FALLBACK].map((o) => h.MotoServer.start(o.region)));
  servers = list;
  endpoints = Object.fromEntries(list.map((m) => [m.region, m.endpoint]));
  clients = h.clientsFor(endpoints);
  for (const o of [PRIMARY, REPLICA, FALLBACK, VARIANTS]) await h.createBucket(clients(o.region), o.bucket, o.region);
});
test.after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function putOriginal(key, bytes, where = [PRIMARY, REPLICA, FALLBACK]) {
  for (const o of where) await clients(o.region).send(new PutObjectCommand({ Bucket: o.bucket, Key: key, Body: bytes }));
}

const uriOf = (key) => '/' + key.split('/').map(encodeURIComponent).join('/');
const variantKeyOf = (key, q) => `v/${encodeURIComponent(key)}/${q}`;

function event(key, q, origin = PRIMARY) {
  return h.originRequestEvent({ uri: uriOf(key), querystring: q, bucket: origin.bucket, region: origin.region, headers: h.originHeaders(SETTINGS) });
}

async function exists(where, key) {
  try {
    await clients(where.region).send(new HeadObjectCommand({ Bucket: where.bucket, Key: key }));
    return true;
  } catch (e) {
    return false;
  }
}

async function width(r) {
  assert.equal(r.status, '200', r.body);
  return (await sharp(Buffer.from(r.body, 'base64')).metadata()).width;
}

test('a taken-down original is not served from the variants bucket', async () => {
  const { handler, logs } = h.testHandler(endpoints);
  const key = 'shop/takedown/a.jpg';
  await putOriginal(key, h.corpus('07_').bytes);
  assert.equal(await width(await handler(event(key, 'w=120'))), 120);
  assert.ok(await exists(VARIANTS, variantKeyOf(key, 'w=120')));

  // Deleted (the purge has not run yet: the variant is still stored).
  for (const o of [PRIMARY, REPLICA, FALLBACK]) await clients(o.region).send(new DeleteObjectCommand({ Bucket: o.bucket, Key: key }));
  const r = await handler(event(key, 'w=120'));
  assert.equal(r.status, '404', 'the stored variant of a deleted original is not served');
  assert.equal(logs.at(-1).outcome, 'missing');
});

test('a transform in flight during a purge: its late variant is never served', async () => {
  const key = 'shop/race/a.jpg';
  await putOriginal(key, h.corpus('04_').bytes);
  const vkey = variantKeyOf(key, 'w=300');
  // The purge runs between the edge's read of the original and its store: S3 calls are
  // intercepted so that the variant PUT happens right after the original is deleted and
  // the stored variants are purged.
  const base = h.clientsFor(endpoints);
  const racing = (region) => {
    const client = base(region);
    return {
      config: client.config,
      async send(command, options) {
        if (command instanceof PutObjectCommand && command.input.Key === vkey) {
          for (const o of [PRIMARY, REPLICA, FALLBACK]) await base(o.region).send(new DeleteObjectCommand({ Bucket: o.bucket, Key: key }));
          await base(VARIANTS.region).send(new DeleteObjectCommand({ Bucket: VARIANTS.bucket, Key: vkey }));
        }
        return client.send(command, options);
      },
    };
  };
  const { handler } = h.testHandler(endpoints, { s3ClientFor: racing });
  const inFlight = await handler(event(key, 'w=300'));
  assert.equal(await width(inFlight), 300, 'the in-flight request was answered from the bytes it read');
  assert.ok(await exists(VARIANTS, vkey), 'the late variant was stored after the purge');
  // (The renderer's flush waits out in-flight transforms before invalidating, and sweeps
  // such late variants: tests/e2e/test_renderer.py.) Until then, every miss refuses it:
  const { handler: next } = h.testHandler(endpoints);
  for (const origin of [PRIMARY, REPLICA]) {
    const r = await next(event(key, 'w=300', origin));
    assert.equal(r.status, '404', `from ${origin.bucket}`);
  }
});

test('an overwritten original is rendered again from the new bytes', async () => {
  const { handler, logs } = h.testHandler(endpoints);
  const key = 'shop/overwrite/a.jpg';
  await putOriginal(key, h.corpus('07_').bytes); // 512x600
  const first = await handler(event(key, 'w=200'));
  assert.equal((await sharp(Buffer.from(first.body, 'base64')).metadata()).height, 234);
  await putOriginal(key, h.corpus('10_').bytes); // 600x400, a new version
  const second = await handler(event(key, 'w=200'));
  const meta = await sharp(Buffer.from(second.body, 'base64')).metadata();
  assert.deepEqual([meta.width, meta.height], [200, 133], 'new pixels, not the stored variant');
  assert.equal(h.headerValue(second, 'cache-control'), LONG);
  assert.ok(logs.at(-1).notes.some((n) => /another version/.test(n)), JSON.stringify(logs.at(-1)));
  const stored = await clients(VARIANTS.region).send(new HeadObjectCommand({ Bucket: VARIANTS.bucket, Key: variantKeyOf(key, 'w=200') }));
  const original = await clients(PRIMARY.region).send(new HeadObjectCommand({ Bucket: PRIMARY.bucket, Key: key }));
  assert.equal(stored.Metadata['source-etag'], original.ETag);
  // And the next miss serves it from the store.
  await handler(event(key, 'w=200'));
  assert.equal(logs.at(-1).outcome, 'stored-inline');
});

/** A TCP server that accepts connections and never answers; records what it receives. */
async function blackhole() {
  const received = [];
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (d) => received.push(d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    text: () => received.join(''),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(resolve);
      }),
  };
}

test('a hanging primary region: one deadline, failover in time, nothing written to it', async () => {
  const key = 'shop/hang/a.jpg';
  await putOriginal(key, h.corpus('07_').bytes);
  const hole = await blackhole();
  try {
    const budget = { totalMs: 6000, firstByteMs: 800, bodyMs: 2000, storeMs: 800, transformReserveMs: 2500 };
    const { handler, logs } = h.testHandler({ ...endpoints, [PRIMARY.region]: hole.endpoint }, { budget });
    const started = performance.now();
    const r = await handler(event(key, 'w=90'));
    const elapsed = performance.now() - started;
    assert.equal(await width(r), 90, 'served from the third region');
    assert.ok(elapsed < budget.totalMs, `answered in ${Math.round(elapsed)} ms, within the ${budget.totalMs} ms deadline`);
    assert.equal(h.headerValue(r, 'cache-control'), SHORT, 'not stored, not verified: cached briefly');
    assert.equal(logs.at(-1).outcome, 'rendered-unstored');
    assert.ok(logs.at(-1).notes.some((n) => /storing the variant skipped: its region timed out/.test(n)), JSON.stringify(logs.at(-1)));
    assert.match(hole.text(), /^GET /m, 'the hanging region was asked');
    assert.doesNotMatch(hole.text(), /^PUT /m, 'and never written to');

    // The primary origin hangs and so does the third region: 503 within the deadline.
    const both = h.testHandler({ ...endpoints, [PRIMARY.region]: hole.endpoint, [FALLBACK.region]: hole.endpoint }, { budget });
    const t0 = performance.now();
    const down = await both.handler(event(key, 'w=91'));
    assert.deepEqual([down.status, h.headerValue(down, 'cache-control')], ['503', 'no-store']);
    assert.ok(performance.now() - t0 < budget.totalMs);
  } finally {
    await hole.close();
  }
});

test('a body that stalls after its headers is abandoned within the deadline', async () => {
  // Headers, then silence: the S3 response of a region that hangs mid-transfer.
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', () =>
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\nETag: "abc"\r\n\r\n\xff\xd8\xff'),
    );
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const stalling = `http://127.0.0.1:${server.address().port}`;
    const budget = { totalMs: 5000, firstByteMs: 800, bodyMs: 1000, storeMs: 800, transformReserveMs: 1500 };
    const { handler, logs } = h.testHandler({ ...endpoints, [REPLICA.region]: stalling }, { budget });
    const t0 = performance.now();
    const r = await handler(event('shop/stall/a.jpg', 'w=50', REPLICA));
    assert.equal(r.status, '503');
    assert.ok(performance.now() - t0 < budget.totalMs);
    assert.ok(logs.at(-1).notes.some((n) => /DeadlineExceeded/.test(n)), JSON.stringify(logs.at(-1)));
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('AVIF over the edge budget: a WebP stand-in now, the real one requested from the renderer', async () => {
  const { handler, logs } = h.testHandler(endpoints);
  const key = 'shop/heavy/a.jpg';
  await putOriginal(key, h.corpus('02_').bytes); // 5312x2988
  const r = await handler(event(key, 'fm=avif&w=2400'));
  assert.equal(r.status, '200', r.body);
  assert.equal(h.headerValue(r, 'content-type'), 'image/webp');
  assert.equal(h.headerValue(r, 'cache-control'), SHORT);
  const meta = await sharp(Buffer.from(r.body, 'base64')).metadata();
  assert.deepEqual([meta.format, meta.width], ['webp', 2400]);
  assert.equal(logs.at(-1).outcome, 'stand-in');
  assert.ok(!(await exists(VARIANTS, variantKeyOf(key, 'fm=avif&w=2400'))), 'a stand-in is never stored under the variant key');
  const listed = await clients(VARIANTS.region).send(new ListObjectsV2Command({ Bucket: VARIANTS.bucket, Prefix: '_render/' }));
  const requests = await Promise.all(
    (listed.Contents || []).map(async (o) => {
      const res = await clients(VARIANTS.region).send(new GetObjectCommand({ Bucket: VARIANTS.bucket, Key: o.Key }));
      return JSON.parse(await res.Body.transformToString());
    }),
  );
  assert.deepEqual(requests.filter((q) => q.originalKey === key), [{ originalKey: key, query: 'fm=avif&w=2400' }]);
  // Within the edge budget, AVIF is rendered and stored as usual.
  const small = await handler(event(key, 'fm=avif&w=600'));
  assert.equal(h.headerValue(small, 'content-type'), 'image/avif');
  assert.equal(h.headerValue(small, 'cache-control'), LONG);
});

test('original keys near S3\'s 1,024-byte limit have storable variants', async () => {
  const { handler, logs } = h.testHandler(endpoints);
  const key = `shop/${'\u753b'.repeat(330)}.jpg`; // 998 bytes of UTF-8, 2,986 percent-encoded
  assert.ok(Buffer.byteLength(key) <= 1024);
  await putOriginal(key, h.corpus('01_').bytes);
  const big = await handler(event(key, 'fm=png&w=1600'));
  assert.equal(logs.at(-1).outcome, 'rendered-origin', 'over 1 MB: stored and pointed at');
  assert.ok(big.uri.startsWith('/d/'), big.uri);
  const again = await handler(event(key, 'w=100'));
  assert.equal(await width(again), 100);
  await handler(event(key, 'w=100'));
  assert.equal(logs.at(-1).outcome, 'stored-inline', 'served from the store on the next miss');
});

test('the packaged zip: index.handler loads the bundled module at init', async () => {
  const zip = path.join(h.ROOT, 'dist/edge-transform.zip');
  assert.ok(fs.existsSync(zip), `${zip} (built by lambda/edge/build.sh)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imagecdn-edge-zip-'));
  execFileSync('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zip, dir]);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['edge_transform.wasm', 'engine.js', 'index.js', 'presign.js']);

  const compiled = [];
  const RealModule = WebAssembly.Module;
  WebAssembly.Module = new Proxy(RealModule, {
    construct(target, args) {
      compiled.push(args[0].length);
      return new target(...args);
    },
  });
  let entry;
  try {
    entry = require(path.join(dir, 'index.js'));
  } finally {
    WebAssembly.Module = RealModule;
  }
  assert.equal(compiled.length, 1, 'compiled once, at require (the container init)');
  assert.equal(typeof entry.handler, 'function');

  // Requests that need no S3: refused, non-canonical, and the original itself.
  const headers = h.originHeaders(SETTINGS);
  const ev = (uri, q) => h.originRequestEvent({ uri, querystring: q, bucket: PRIMARY.bucket, region: PRIMARY.region, headers });
  assert.equal((await entry.handler(ev('/other/a.jpg', 'w=1'))).status, '403');
  assert.equal((await entry.handler(ev('/shop//a.jpg', 'w=1'))).status, '400');
  assert.equal((await entry.handler(ev('/shop/a.jpg', 'w=0400'))).status, '400');
  const forwarded = await entry.handler(ev('/shop/a.jpg', ''));
  assert.equal(forwarded.uri, '/shop/a.jpg');
  assert.equal(compiled.length, 1, 'no compile on a request');
});

test('the wasm decoder refuses hostile and damaged files with a 4xx, never a trap', async () => {
  const { Engine } = require(path.join(h.ROOT, 'lambda/edge/js/engine'));
  const engine = new Engine({ wasmPath: h.WASM });
  const limits = { maxSourcePixels: 50e6, maxSourceBytes: 40 * 1024 * 1024, maxWidth: 4096, maxHeight: 4096, defaultQuality: 80 };

  // Thousands of scans: a progressive JPEG from jpegtran (100 scans, the most it writes)
  // with its scans repeated.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imagecdn-scans-'));
  const script = ['0,1,2: 0 0 0 0;'];
  for (let c = 0; c < 3; c++) for (let b = 0; b < 33; b++) script.push(`${c}: ${b + 1} ${b === 32 ? 63 : b + 1} 0 0;`);
  fs.writeFileSync(path.join(tmp, 'scans.txt'), script.join('\n') + '\n');
  const jpegtran = fs.existsSync('/usr/bin/jpegtran') ? '/usr/bin/jpegtran' : 'jpegtran';
  fs.writeFileSync(path.join(tmp, 'in.jpg'), h.corpus('07_').bytes);
  execFileSync(jpegtran, ['-scans', path.join(tmp, 'scans.txt'), '-outfile', path.join(tmp, 'p.jpg'), path.join(tmp, 'in.jpg')]);
  const progressive = fs.readFileSync(path.join(tmp, 'p.jpg'));
  assert.equal(engine.transform(progressive, 'w=64', limits).status, 200, '100 scans are fine');
  const sos = progressive.indexOf(Buffer.from([0xff, 0xda]));
  const scans = progressive.subarray(sos, progressive.length - 2);
  const hostile = Buffer.concat([progressive.subarray(0, sos), ...Array(30).fill(scans), Buffer.from([0xff, 0xd9])]);
  const t0 = performance.now();
  const refused = engine.transform(hostile, 'w=64', limits);
  assert.equal(refused.status, 422, refused.error);
  assert.match(refused.error, /more than 100 scans/);
  assert.ok(performance.now() - t0 < 2000, 'refused before decoding');

  // Truncations and bit flips of every source format (seeded, so reproducible).
  let seed = 20261201;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const statuses = new Map();
  for (const f of ['03', '07', '08', '09', '10']) {
    const src = h.corpus(f + '_').bytes;
    const cases = [];
    for (let i = 1; i <= 12; i++) cases.push(src.subarray(0, Math.floor((src.length * i) / 13)));
    for (let i = 0; i < 24; i++) {
      const copy = Buffer.from(src);
      const flips = 1 + Math.floor(rand() * 8);
      // Mostly in the first 4 KB (headers, tables), some anywhere.
      for (let j = 0; j < flips; j++) {
        const at = rand() < 0.7 ? Math.floor(rand() * Math.min(4096, copy.length)) : Math.floor(rand() * copy.length);
        copy[at] ^= 1 << Math.floor(rand() * 8);
      }
      cases.push(copy);
    }
    for (const input of cases) {
      const r = engine.transform(input, 'w=64', limits);
      statuses.set(r.status, (statuses.get(r.status) || 0) + 1);
      assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `${f}: status ${r.status} ${r.error || ''}`);
      if (r.status === 200) assert.ok(r.body.length > 0);
    }
  }
  assert.ok((statuses.get(422) || 0) + (statuses.get(415) || 0) > 10, JSON.stringify([...statuses]));
});

test("libjpeg-turbo's errors in wasm end the call through the host: the core's 422, a fresh instance, nothing leaked", async () => {
  const { Engine } = require(path.join(h.ROOT, 'lambda/edge/js/engine'));
  const engine = new Engine({ wasmPath: h.WASM }).warm();
  const limits = { maxSourcePixels: 50e6, maxSourceBytes: 40 * 1024 * 1024, maxWidth: 4096, maxHeight: 4096, defaultQuality: 80 };
  const truncated = h.corpus('11_').bytes;
  const good = h.corpus('07_').bytes;
  const before = engine.instances;
  for (let i = 0; i < 20; i++) {
    const r = engine.transform(truncated, 'fm=webp&w=400', limits);
    assert.equal(r.status, 422);
    // libjpeg's own text, formatted by the core exactly as the native renderer reports it.
    assert.equal(r.error, 'cannot decode the image: JPEG: Premature end of JPEG file');
    assert.equal(engine.instance, null, 'the interrupted instance is abandoned');
    const ok = engine.transform(good, 'w=100', limits);
    assert.equal(ok.status, 200, ok.error);
  }
  assert.equal(engine.instances, before + 20, 'one fresh instance after each failure, none otherwise');
  // Every failure left its instance behind, so memory is whatever one instance needs.
  assert.ok(engine.memoryBytes() < 64 * 1024 * 1024, `memory ${engine.memoryBytes()}`);
});

test('a RangeError out of wasm (stack overflow) replaces the instance like a trap', async () => {
  const { Engine } = require(path.join(h.ROOT, 'lambda/edge/js/engine'));
  const engine = new Engine({ wasmPath: h.WASM }).warm();
  const before = engine.instances;
  const r = engine.call(() => {
    throw new RangeError('Maximum call stack size exceeded');
  });
  assert.equal(r.status, 500);
  assert.equal(engine.instance, null, 'the instance is dropped');
  const ok = engine.transform(h.corpus('07_').bytes, 'w=10', { maxSourcePixels: 1e7, maxSourceBytes: 1e7, maxWidth: 100, maxHeight: 100, defaultQuality: 80 });
  assert.equal(ok.status, 200);
  assert.equal(engine.instances, before + 1);
});
