'use strict';
/**
 * The edge decodes exactly what the renderer decodes: every corpus source through the
 * wasm module (`edge_decode`, the Lambda@Edge build) and through the native build of the
 * same function (`lambda/edge/examples/decode_native.rs`), JPEGs at every IDCT scale
 * (1/8, 1/4, 1/2, 1), compared pixel for pixel with the metadata the pipeline uses next
 * (size, channels, orientation, ICC profile). Natively libjpeg-turbo runs its nasm SIMD
 * kernels, in wasm its C paths with two changes to its Huffman decoder
 * (lambda/edge/clang-wasm32.sh); a damaged JPEG must fail the same way in both. Both
 * builds' JPEG pixels are also compared with Debian's djpeg (unpatched libjpeg-turbo:
 * ours has skip tables in its Huffman decoder, lambda/vendor/README.md), on the corpus
 * and on JPEGs made with ImageMagick and cjpeg to reach the decoder's corner cases.
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

/** Debian's binary of a tool (tests/run.sh installs them), not a wrapper earlier on PATH. */
const tool = (name) => (fs.existsSync(`/usr/bin/${name}`) ? `/usr/bin/${name}` : name);

/**
 * The pixels Debian's djpeg (libjpeg-turbo, unpatched: the reference for the skip tables
 * our copy of its Huffman decoder adds, lambda/vendor/README.md) decodes from `file` at
 * scale n/8, with the settings ours uses (libjpeg's defaults: integer IDCT, fancy
 * upsampling), from its PPM/PGM output.
 */
function djpegPixels(file, n) {
  const out = execFileSync(tool('djpeg'), ['-scale', `${n}/8`, '-dct', 'int', file], { maxBuffer: 1 << 30 });
  let at = 0;
  const field = () => {
    while (/\s/.test(String.fromCharCode(out[at]))) at++;
    const start = at;
    while (!/\s/.test(String.fromCharCode(out[at]))) at++;
    return out.toString('latin1', start, at);
  };
  const [magic, width, height, max] = [field(), Number(field()), Number(field()), Number(field())];
  assert.ok((magic === 'P6' || magic === 'P5') && max === 255, `djpeg ${file}: ${magic} ${max}`);
  return { width, height, body: out.subarray(at + 1) };
}

/**
 * Decodes `bytes` (the contents of `file`) in wasm and natively with the same minimum
 * size (0 x 0: full size) and asserts the same result: status and error, or metadata and
 * pixels; with `djpegScale` (n of n/8) also djpeg's pixels. Returns a line for the
 * caller's tally.
 */
function assertSameDecode(engine, file, bytes, minW, minH, scratch, what, djpegScale) {
  const out = path.join(scratch, 'native.raw');
  const wasm = engine.decode(bytes, minW, minH);
  const native = decodeNative(file, minW, minH, out);
  assert.equal(wasm.status, native.status, `${what}: status (wasm: ${wasm.error || 'ok'}; native: ${native.error || 'ok'})`);
  if (native.status !== 200) {
    assert.equal(wasm.error, native.error, `${what}: the same error`);
    return `${what}: ${native.status}`;
  }
  for (const field of ['width', 'height', 'channels', 'alpha', 'orientation', 'iccBytes']) {
    assert.equal(wasm[field], native[field], `${what}: ${field}`);
  }
  assert.ok(wasm.body.equals(native.body), `${what}: ${describeDifference(wasm.body, native.body)}`);
  fs.rmSync(out, { force: true });
  if (djpegScale) {
    const reference = djpegPixels(file, djpegScale);
    assert.deepEqual([wasm.width, wasm.height], [reference.width, reference.height], `${what}: djpeg's size`);
    assert.ok(wasm.body.equals(reference.body), `${what}: against djpeg, ${describeDifference(wasm.body, reference.body)}`);
    return `${what}: ${wasm.width}x${wasm.height}x${wasm.channels}, as djpeg`;
  }
  return `${what}: ${wasm.width}x${wasm.height}x${wasm.channels}`;
}

/**
 * Each JPEG IDCT scale n/8 with the minimum size that selects it (libjpeg rounds up),
 * full size (0 x 0) first.
 */
function everyScale(width, height) {
  return [{ n: 8, minW: 0, minH: 0 }, ...[1, 2, 4].map((n) => ({ n, minW: Math.ceil((width * n) / 8), minH: Math.ceil((height * n) / 8) }))];
}

test('the wasm build decodes every corpus source exactly as the native build and Debian\'s djpeg, JPEGs at every scale', () => {
  buildNativePrograms();
  const { Engine } = require(path.join(h.ROOT, 'lambda/edge/js/engine'));
  const engine = new Engine({ wasmPath: h.WASM });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imagecdn-decode-'));
  const compared = [];
  try {
    for (const prefix of ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11']) {
      const { name, bytes } = h.corpus(prefix + '_');
      const file = path.join(h.CORPUS, name);
      const full = engine.decode(bytes);
      const jpeg = name.endsWith('.jpg') && full.status === 200;
      for (const { n, minW, minH } of jpeg ? everyScale(full.width, full.height) : [{ minW: 0, minH: 0 }]) {
        compared.push(assertSameDecode(engine, file, bytes, minW, minH, tmp, `${name} at least ${minW}x${minH}`, n));
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // 7 JPEGs at 4 scales, the truncated JPEG (refused at full size), 3 other formats.
  assert.equal(compared.length, 7 * 4 + 1 + 3, compared.join('\n'));
  assert.equal(compared.filter((c) => c.endsWith(', as djpeg')).length, 7 * 4, 'every JPEG at every scale against djpeg');
  assert.ok(compared.some((c) => c.startsWith('11_') && c.endsWith(': 422')), 'the truncated JPEG is refused by both');
});

test("libjpeg-turbo's Huffman fast paths as we build them decode JPEGs made to stress them exactly as djpeg, and damaged ones as natively", () => {
  // Our copy of libjpeg-turbo's Huffman decoder has skip tables that take several
  // discarded AC symbols a step at 1/8 scale (lambda/vendor/README.md), and the edge
  // compiles it with a 64-bit bit buffer (lambda/edge/clang-wasm32.sh); Debian's djpeg
  // has neither. Camera JPEGs rarely reach their corner cases, so these files are made
  // to: noise at quality 100 (blocks that run to coefficient 63 with no end-of-block,
  // large values), 1-pixel line patterns (long zero runs: ZRL symbols), optimized
  // Huffman tables (codes up to 16 bits, longer than any table entry), restart markers
  // (the slow path), non-interleaved scans each with its own tables (tables rebuilt per
  // scan), 4:4:4, 4:2:2 and grey (every block skipped).
  buildNativePrograms();
  const { Engine } = require(path.join(h.ROOT, 'lambda/edge/js/engine'));
  const engine = new Engine({ wasmPath: h.WASM });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imagecdn-huffman-'));
  const compared = [];
  try {
    const sources = {
      noise: ['-seed', '7', '-size', '333x251', 'xc:', '+noise', 'Random'],
      lines: ['-size', '333x251', 'pattern:hs_diagcross'],
      photo: [path.join(h.CORPUS, h.corpus('07_').name), '-resize', '301x355!'],
    };
    fs.writeFileSync(path.join(tmp, 'sequential.txt'), '0;\n1;\n2;\n');
    const encodings = {
      q100: ['-quality', '100'],
      'q100-optimized-444': ['-quality', '100', '-optimize', '-sample', '1x1'],
      'q30-422': ['-quality', '30', '-sample', '2x1'],
      'q95-grey-optimized': ['-quality', '95', '-grayscale', '-optimize'],
      'q90-restart-3-mcus': ['-quality', '90', '-restart', '3B'],
      // 4:4:4, so that the chroma scans are skipped at 1/8 scale too, with their own tables.
      'q97-non-interleaved-optimized-444': ['-quality', '97', '-optimize', '-sample', '1x1', '-scans', path.join(tmp, 'sequential.txt')],
    };
    let damaged = 0;
    let seed = 20261202;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (const [source, args] of Object.entries(sources)) {
      const ppm = path.join(tmp, `${source}.ppm`);
      execFileSync(tool('convert'), [...args, '-depth', '8', `ppm:${ppm}`]);
      for (const [encoding, cjpegArgs] of Object.entries(encodings)) {
        const file = path.join(tmp, `${source}-${encoding}.jpg`);
        execFileSync(tool('cjpeg'), [...cjpegArgs, '-outfile', file, ppm]);
        const bytes = fs.readFileSync(file);
        const full = engine.decode(bytes);
        assert.equal(full.status, 200, `${source}-${encoding}: ${full.error}`);
        for (const { n, minW, minH } of everyScale(full.width, full.height)) {
          compared.push(assertSameDecode(engine, file, bytes, minW, minH, tmp, `${source}-${encoding} at least ${minW}x${minH}`, n));
        }
        // One flipped bit in the entropy-coded data, decoded at 1/8 scale (the skip
        // tables' case): the same pixels, or the same error, in wasm as natively. (Not
        // against djpeg: which of its warnings fire depends on its file reader's
        // buffering, whereas ours decodes from memory.)
        if (encoding === 'q30-422') continue;
        const scan = bytes.indexOf(Buffer.from([0xff, 0xda]));
        for (let i = 0; i < 6; i++) {
          const hurt = Buffer.from(bytes);
          const at = scan + 20 + Math.floor(rand() * (hurt.length - scan - 22));
          hurt[at] ^= 1 << Math.floor(rand() * 8);
          const hurtFile = path.join(tmp, 'damaged.jpg');
          fs.writeFileSync(hurtFile, hurt);
          const { minW, minH } = everyScale(full.width, full.height)[1];
          compared.push(assertSameDecode(engine, hurtFile, hurt, minW, minH, tmp, `${source}-${encoding} bit ${at * 8} flipped`));
          damaged++;
        }
      }
    }
    assert.equal(damaged, 3 * 5 * 6);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  assert.equal(compared.length, 3 * 6 * 4 + 3 * 5 * 6, compared.join('\n'));
  assert.equal(compared.filter((c) => c.endsWith(', as djpeg')).length, 3 * 6 * 4, 'every undamaged file at every scale against djpeg');
  // Damage must reach the decoder's error paths too, not only change a coefficient.
  assert.ok(compared.some((c) => / flipped: 4\d\d$/.test(c)), compared.join('\n'));
});

test('an invalid Huffman code anywhere in a JPEG is refused by both builds at every scale, wherever the reader stands', () => {
  // 48 one bits (six stuffed 0xFF bytes) in the entropy-coded data: every code starting
  // in them is invalid (JPEG forbids all-ones codes). libjpeg-turbo's slow path warns
  // (JWRN_HUFF_BAD_CODE, fatal for us); upstream's fast path, which decodes from memory
  // away from the data's end, silently read it as 0. Our copy sends that MCU back to the
  // slow path (lambda/vendor/README.md), so the answer no longer depends on where the
  // bad code falls.
  buildNativePrograms();
  const { Engine } = require(path.join(h.ROOT, 'lambda/edge/js/engine'));
  const engine = new Engine({ wasmPath: h.WASM });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imagecdn-badcode-'));
  let refused = 0;
  try {
    for (const prefix of ['02_', '04_', '06_']) {
      const { name, bytes } = h.corpus(prefix);
      const full = engine.decode(bytes);
      assert.equal(full.status, 200, full.error);
      const scan = bytes.indexOf(Buffer.from([0xff, 0xda]));
      const data = scan + 2 + bytes.readUInt16BE(scan + 2);
      for (const fraction of [0.1, 0.5, 0.9]) {
        let at = data + Math.floor((bytes.length - data) * fraction);
        while (bytes[at - 1] === 0xff || bytes[at] === 0xff) at++;
        const hurt = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0]), bytes.subarray(at + 12)]);
        const file = path.join(tmp, 'bad-code.jpg');
        fs.writeFileSync(file, hurt);
        for (const { minW, minH } of everyScale(full.width, full.height)) {
          const what = `${name} with an invalid code at ${Math.round(fraction * 100)}% of its data, at least ${minW}x${minH}`;
          const line = assertSameDecode(engine, file, hurt, minW, minH, tmp, what);
          assert.match(line, /: 422$/, what);
          assert.match(engine.decode(hurt, minW, minH).error, /Huffman/, what);
          refused++;
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  assert.equal(refused, 3 * 3 * 4);
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
