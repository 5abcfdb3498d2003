'use strict';
/**
 * The edge decodes exactly what the renderer decodes: every corpus source through the
 * wasm module (`edge_decode`, the Lambda@Edge build) and through the native build of the
 * same function (`lambda/edge/examples/decode_native.rs`), JPEGs at every IDCT scale
 * (1/8, 1/4, 1/2, 1), compared pixel for pixel with the metadata the pipeline uses next
 * (size, channels, orientation, ICC profile). Natively libjpeg-turbo runs its nasm SIMD
 * kernels, in wasm its C paths; a damaged JPEG must fail the same way in both.
 *
 * And the variants themselves: the same request on the same source with the same encoder
 * settings gives the same bytes in wasm as natively for PNG, WebP and AVIF (libwebp's and
 * rav1e's SIMD kernels are bit-exact with their portable code; libwebp runs its SSE2
 * kernels on both sides, in wasm through Emscripten's SSE-on-simd128 headers, so this
 * also checks that translation). The edge encodes AVIF at
 * rav1e speed 9 (`EDGE_ENCODING` in lambda/edge/src/lib.rs), the renderer at 8, so the
 * native side runs at the edge's speed here. JPEG differs in rounding only: jpeg-encoder's
 * AVX2 DCT (native) and its scalar DCT (wasm) are not bit-exact, so the two JPEGs are
 * compared decoded.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const h = require('./harness');

const CARGO_TARGET_DIR = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache/imagecdn/target');
const NATIVE = path.join(CARGO_TARGET_DIR, 'debug/examples/decode_native');
const NATIVE_TRANSFORM = path.join(CARGO_TARGET_DIR, 'debug/imagecdn-transform');

/**
 * Builds the native programs, so they are never stale. Workspace-wide, as the test
 * command's cargo stages build (the same features, so the same artifacts: a seconds-long
 * link of the examples the first time, then nothing); a per-package build would resolve
 * other features and rebuild the core and its dependencies.
 */
let built = false;
function buildNativePrograms() {
  if (built) return;
  execFileSync('cargo', ['build', '-q', '--workspace', '--bins', '--examples'], {
    cwd: h.ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, CARGO_TARGET_DIR },
  });
  built = true;
}

function decodeNative(file, minW, minH, out) {
  const line = execFileSync(NATIVE, [file, String(minW), String(minH), out], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const { status, meta } = JSON.parse(line);
  const r = { status, ...meta };
  if (status === 200) r.body = fs.readFileSync(out);
  return r;
}

/** Where two pixel buffers differ: a short description for the assertion message. */
function describeDifference(a, b) {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  let count = 0;
  let first = -1;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      count++;
      if (first < 0) first = i;
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    }
  }
  return `${count} bytes differ (first at ${first}, largest difference ${maxDiff})`;
}

test('the wasm build decodes every corpus source exactly as the native build, JPEGs at every scale', () => {
  buildNativePrograms();
  const { Engine } = require(path.join(h.ROOT, 'lambda/edge/js/engine'));
  const engine = new Engine({ wasmPath: h.WASM });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imagecdn-decode-'));
  const out = path.join(tmp, 'native.raw');
  const compared = [];
  try {
    for (const prefix of ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11']) {
      const { name, bytes } = h.corpus(prefix + '_');
      const file = path.join(h.CORPUS, name);
      const full = engine.decode(bytes);
      const sizes = [[0, 0]];
      if (name.endsWith('.jpg') && full.status === 200) {
        // The smallest minimum size each scale n/8 still satisfies (libjpeg rounds up).
        for (const n of [1, 2, 4]) sizes.push([Math.ceil((full.width * n) / 8), Math.ceil((full.height * n) / 8)]);
      }
      for (const [minW, minH] of sizes) {
        const wasm = minW === 0 ? full : engine.decode(bytes, minW, minH);
        const native = decodeNative(file, minW, minH, out);
        const what = `${name} at least ${minW}x${minH}`;
        assert.equal(wasm.status, native.status, `${what}: status (wasm: ${wasm.error || 'ok'}; native: ${native.error || 'ok'})`);
        if (native.status !== 200) {
          assert.equal(wasm.error, native.error, `${what}: the same error`);
          compared.push(`${what}: ${native.status}`);
          continue;
        }
        for (const field of ['width', 'height', 'channels', 'alpha', 'orientation', 'iccBytes']) {
          assert.equal(wasm[field], native[field], `${what}: ${field}`);
        }
        assert.ok(wasm.body.equals(native.body), `${what}: ${describeDifference(wasm.body, native.body)}`);
        compared.push(`${what}: ${wasm.width}x${wasm.height}x${wasm.channels}`);
        fs.rmSync(out, { force: true });
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // 7 JPEGs at 4 scales, the truncated JPEG (refused at full size), 3 other formats.
  assert.equal(compared.length, 7 * 4 + 1 + 3, compared.join('\n'));
  assert.ok(compared.some((c) => c.startsWith('11_') && c.endsWith(': 422')), 'the truncated JPEG is refused by both');
});

test('the wasm build encodes the same variant bytes as the native build (PNG, WebP, AVIF) and JPEGs that decode within rounding', () => {
  buildNativePrograms();
  const { Engine } = require(path.join(h.ROOT, 'lambda/edge/js/engine'));
  const engine = new Engine({ wasmPath: h.WASM });
  const limits = { maxSourcePixels: 100e6, maxSourceBytes: 64 << 20, maxWidth: 4096, maxHeight: 4096, defaultQuality: 80 };
  const queries = ['fit=contain&fm=webp&h=200&q=70&w=200', 'fm=webp&q=80&w=400', 'fm=png&w=300', 'fm=avif&q=60&w=160', 'fm=jpeg&q=80&w=400'];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imagecdn-variants-'));
  const out = path.join(tmp, 'native.out');
  let identical = 0;
  try {
    for (const prefix of ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10']) {
      const { name, bytes } = h.corpus(prefix + '_');
      for (const query of queries) {
        const what = `${name} ${query}`;
        const wasm = engine.transform(bytes, query, limits);
        assert.equal(wasm.status, 200, `${what}: ${wasm.error}`);
        execFileSync(NATIVE_TRANSFORM, ['--avif-speed', '9', path.join(h.CORPUS, name), query, out], { stdio: ['ignore', 'ignore', 'pipe'] });
        const native = fs.readFileSync(out);
        if (!query.includes('fm=jpeg')) {
          assert.ok(wasm.body.equals(native), `${what}: ${wasm.body.length} bytes at the edge, ${native.length} natively`);
          identical++;
          continue;
        }
        const a = engine.decode(wasm.body);
        const b = engine.decode(native);
        assert.equal(a.status, 200, a.error);
        assert.deepEqual([a.width, a.height, a.channels], [b.width, b.height, b.channels], what);
        let max = 0;
        let sum = 0;
        for (let i = 0; i < a.body.length; i++) {
          const d = Math.abs(a.body[i] - b.body[i]);
          max = Math.max(max, d);
          sum += d;
        }
        // Measured on the corpus: largest difference 6 levels, mean under 0.06.
        assert.ok(max <= 8 && sum / a.body.length < 0.1, `${what}: largest difference ${max}, mean ${sum / a.body.length}`);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  assert.equal(identical, 10 * 4);
});
