'use strict';
/**
 * The peer half of bench/transform.sh: times sharp and our wasm core in this process
 * (after warm-up) and vipsthumbnail as a process, reads the native core's medians from
 * bench_native's JSON lines, and prints the table.
 *
 *   node bench/transform.js NATIVE_JSONL WASM ITERATIONS
 *
 * Every operation's output is decoded by sharp and its size printed, so a row that
 * compares different work shows up.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const sharp = require('sharp');
const { Engine } = require('../lambda/edge/js/engine');

const [nativeJsonl, wasmPath, iterArg] = process.argv.slice(2);
const ITER = Number(iterArg || 15);
const CORPUS = process.env.IMAGECDN_CORPUS_DIR || path.resolve(__dirname, '../../shared/corpus');
const file = (p) => path.join(CORPUS, fs.readdirSync(CORPUS).find((f) => f.startsWith(p)));

/** The operations: our canonical query, sharp's pipeline, vipsthumbnail's arguments. */
const OPS = [
  { name: '12 MP JPEG -> 400 px JPEG q80', src: '02_', query: 'fm=jpeg&q=80&w=400', sharp: (s) => s.resize(400).jpeg({ quality: 80 }), vips: ['-s', '400x', '-o', 'out.jpg[Q=80,strip]'] },
  { name: '12 MP JPEG -> 400 px WebP q80', src: '02_', query: 'fm=webp&q=80&w=400', sharp: (s) => s.resize(400).webp({ quality: 80 }), vips: ['-s', '400x', '-o', 'out.webp[Q=80,strip]'] },
  { name: '12 MP JPEG -> 1200 px AVIF q60', src: '02_', query: 'fm=avif&q=60&w=1200', sharp: (s) => s.resize(1200).avif({ quality: 60 }), vips: ['-s', '1200x', '-o', 'out.avif[Q=60,strip]'], iter: 5 },
  { name: 'PNG alpha -> 400 px WebP q80', src: '08_', query: 'fm=webp&q=80&w=400', sharp: (s) => s.resize(400).webp({ quality: 80 }), vips: ['-s', '400x', '-o', 'out.webp[Q=80,strip]'] },
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeAsync(n, fn) {
  for (let i = 0; i < 2; i++) await fn();
  const t = [];
  let out;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    out = await fn();
    t.push(performance.now() - t0);
  }
  return { ms: median(t), out };
}

function vipsthumbnail(n, src, args) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-vips-'));
  const t = [];
  for (let i = 0; i < n + 1; i++) {
    const t0 = performance.now();
    const r = spawnSync('vipsthumbnail', [src, ...args.map((a) => (a.startsWith('out.') ? path.join(dir, a) : a))]);
    const ms = performance.now() - t0;
    if (r.status !== 0) return { ms: NaN, error: String(r.stderr).trim().split('\n')[0] };
    if (i > 0) t.push(ms);
  }
  const out = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f)))[0];
  fs.rmSync(dir, { recursive: true });
  return { ms: median(t), out };
}

const dims = async (buf) => {
  const m = await sharp(buf).metadata();
  return `${m.width}x${m.height} ${buf.length}B`;
};

(async () => {
  const native = fs.readFileSync(nativeJsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const engine = new Engine({ wasmPath });
  const limits = { maxSourcePixels: 100e6, maxSourceBytes: 64 << 20, defaultQuality: 80 };
  const rows = [];
  for (const op of OPS) {
    const src = file(op.src);
    const input = fs.readFileSync(src);
    const n = op.iter || ITER;
    const nat = native.find((r) => r.query === op.query && path.basename(r.file).startsWith(op.src));
    const sh = await timeAsync(n, () => op.sharp(sharp(input)).toBuffer());
    const wa = await timeAsync(n, () => {
      const r = engine.transform(input, op.query, limits);
      if (r.status !== 200) throw new Error(`wasm ${op.query}: ${r.status} ${r.error}`);
      return r.body;
    });
    const vi = vipsthumbnail(n, src, op.vips);
    rows.push({ op, nat, sh, wa, vi, outs: { sharp: await dims(sh.out), wasm: await dims(wa.out), vips: vi.out ? await dims(vi.out) : vi.error } });
  }

  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
  const r2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
  console.log(`\nmedian ms (native: ${ITER} runs, AVIF 5; 2 warm-ups; ${os.cpus().length} cores, ${os.cpus()[0].model})\n`);
  console.log('| operation | ours native | sharp | vipsthumbnail (process) | ours wasm (Node) | ours/sharp | wasm/native |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const { op, nat, sh, wa, vi } of rows) {
    const ms = nat ? nat.median_ms : NaN;
    console.log(`| ${op.name} | ${f(ms)} | ${f(sh.ms)} | ${f(vi.ms)} | ${f(wa.ms)} | ${r2(ms / sh.ms)} | ${r2(wa.ms / ms)} |`);
  }
  console.log('\noutputs (width x height, bytes):');
  for (const { op, nat, outs } of rows) {
    const n = nat ? `${nat.width}x${nat.height} ${nat.bytes}B` : 'n/a';
    console.log(`  ${op.name}: native ${n}; wasm ${outs.wasm}; sharp ${outs.sharp}; vipsthumbnail ${outs.vips}`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
