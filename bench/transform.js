'use strict';
/**
 * The peer half of bench/transform.sh: times sharp (in this process), vipsthumbnail (a
 * process per run), and the Lambda@Edge build from the built zip: its engine and its
 * whole handler (a miss through a real origin-request event, S3 in memory: see
 * edge_handler.js), warm in this process and cold in fresh processes (edge_cold.js); reads
 * the native core's medians from bench_native's JSON lines; measures peak memory per
 * operation in separate processes; prints the tables.
 *
 *   node bench/transform.js NATIVE_JSONL EDGE_DIR ITERATIONS [COLD_RUNS]
 *   node bench/transform.js --rss sharp|edge OP_INDEX EDGE_DIR     (internal: one row's RSS)
 *
 * Every operation's output is decoded by sharp and its size printed, so a row that
 * compares different work shows up.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const sharp = require('sharp');

const CORPUS = process.env.IMAGECDN_CORPUS_DIR || path.resolve(__dirname, '../../shared/corpus');
const file = (p) => path.join(CORPUS, fs.readdirSync(CORPUS).find((f) => f.startsWith(p)));

/** The operations: our canonical query, sharp's pipeline, vipsthumbnail's arguments. */
const OPS = [
  { name: '12 MP JPEG -> 400 px JPEG q80', src: '02_', query: 'fm=jpeg&q=80&w=400', sharp: (s) => s.resize(400).jpeg({ quality: 80 }), vips: ['-s', '400x', '-o', 'out.jpg[Q=80,strip]'] },
  { name: '12 MP JPEG -> 400 px WebP q80', src: '02_', query: 'fm=webp&q=80&w=400', sharp: (s) => s.resize(400).webp({ quality: 80 }), vips: ['-s', '400x', '-o', 'out.webp[Q=80,strip]'] },
  { name: '12 MP JPEG -> 1200 px AVIF q60', src: '02_', query: 'fm=avif&q=60&w=1200', sharp: (s) => s.resize(1200).avif({ quality: 60 }), vips: ['-s', '1200x', '-o', 'out.avif[Q=60,strip]'], iter: 5 },
  { name: 'PNG alpha -> 400 px WebP q80', src: '08_', query: 'fm=webp&q=80&w=400', sharp: (s) => s.resize(400).webp({ quality: 80 }), vips: ['-s', '400x', '-o', 'out.webp[Q=80,strip]'] },
];
const LIMITS = { maxSourcePixels: 100e6, maxSourceBytes: 64 << 20, maxWidth: 4096, maxHeight: 4096, defaultQuality: 80 };
const COLD = { src: '02_', query: 'fm=jpeg&q=80&w=400' };

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

function edgeEngine(dir) {
  const { Engine } = require(path.join(dir, 'engine.js'));
  return new Engine({ maxMemoryBytes: 3 * 1024 * 1024 * 1024 }).warm();
}

function edgeTransform(engine, input, query) {
  const r = engine.transform(input, query, LIMITS);
  if (r.status !== 200) throw new Error(`edge ${query}: ${r.status} ${r.error}`);
  return r.body;
}

/** `--rss`: one operation three times in this fresh process; prints the peak RSS in MiB. */
async function rssChild(impl, index, dir) {
  const op = OPS[Number(index)];
  const input = fs.readFileSync(file(op.src));
  const engine = impl === 'edge' ? edgeEngine(dir) : null;
  for (let i = 0; i < 3; i++) {
    if (impl === 'edge') edgeTransform(engine, input, op.query);
    else await op.sharp(sharp(input)).toBuffer();
  }
  console.log(process.resourceUsage().maxRSS / 1024);
}

function rssOf(impl, index, dir) {
  const r = spawnSync(process.execPath, [__filename, '--rss', impl, String(index), dir], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`rss ${impl} ${index}: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** COLD_RUNS fresh processes, each a cold start to its first response (edge_cold.js). */
function coldStarts(dir, runs) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [path.join(__dirname, 'edge_cold.js'), dir, file(COLD.src), COLD.query], { encoding: 'utf8', env: process.env });
    if (r.status !== 0) throw new Error(`edge_cold.js: ${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split('\n').pop()));
  }
  const parts = Object.keys(results[0]);
  return Object.fromEntries(parts.map((p) => [p, median(results.map((x) => x[p]))]));
}

const meta = async (buf) => {
  const m = await sharp(buf).metadata();
  return { dims: `${m.width}x${m.height}`, bytes: buf.length };
};

async function main([nativeJsonl, dir, iterArg, coldArg]) {
  const ITER = Number(iterArg || 15);
  const COLD_RUNS = Number(coldArg || 7);
  const native = fs.readFileSync(nativeJsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const engine = edgeEngine(dir);
  const { benchHandler } = require('./edge_handler');
  const rows = [];
  for (const [index, op] of OPS.entries()) {
    const src = file(op.src);
    const input = fs.readFileSync(src);
    const n = op.iter || ITER;
    const nat = native.find((r) => r.query === op.query && path.basename(r.file).startsWith(op.src));
    const sh = await timeAsync(n, () => op.sharp(sharp(input)).toBuffer());
    const edge = await timeAsync(n, () => edgeTransform(engine, input, op.query));
    const miss = benchHandler(dir, engine, input);
    const handler = await timeAsync(n, () => miss(op.query));
    const vi = vipsthumbnail(n, src, op.vips);
    const rss = { native: nat ? nat.peak_rss_mb : NaN, sharp: rssOf('sharp', index, dir), edge: rssOf('edge', index, dir) };
    const outs = { sharp: await meta(sh.out), edge: await meta(edge.out), vips: vi.out ? await meta(vi.out) : { dims: vi.error, bytes: NaN } };
    rows.push({ op, nat, sh, edge, handler, vi, rss, outs });
  }
  const cold = coldStarts(dir, COLD_RUNS);

  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
  const r2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
  const mb = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
  console.log(`\nmedian ms (${ITER} runs, AVIF 5; 2 warm-ups; ${os.cpus().length} cores, ${os.cpus()[0].model}; Node ${process.version})\n`);
  console.log('| operation | ours native | sharp | vipsthumbnail (process) | edge wasm | edge handler | native/sharp | edge/sharp | peak RSS MB native / sharp / edge |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const { op, nat, sh, edge, handler, vi, rss } of rows) {
    const ms = nat ? nat.median_ms : NaN;
    console.log(`| ${op.name} | ${f(ms)} | ${f(sh.ms)} | ${f(vi.ms)} | ${f(edge.ms)} | ${f(handler.ms)} | ${r2(ms / sh.ms)} | ${r2(edge.ms / sh.ms)} | ${mb(rss.native)} / ${mb(rss.sharp)} / ${mb(rss.edge)} |`);
  }
  console.log('\noutputs (width x height, bytes; edge/sharp size ratio):');
  for (const { op, nat, outs } of rows) {
    const n = nat ? `${nat.width}x${nat.height} ${nat.bytes}` : 'n/a';
    console.log(`  ${op.name}: native ${n}; edge ${outs.edge.dims} ${outs.edge.bytes}; sharp ${outs.sharp.dims} ${outs.sharp.bytes}; vipsthumbnail ${outs.vips.dims} ${outs.vips.bytes}; edge/sharp ${r2(outs.edge.bytes / outs.sharp.bytes)}`);
  }
  const zip = path.join(__dirname, '../dist/edge-transform.zip');
  console.log(`\nedge cold start (${COLD_RUNS} fresh Node processes, medians; first request: ${COLD.query} on ${path.basename(file(COLD.src))}; zip ${fs.statSync(zip).size} bytes, wasm ${fs.statSync(path.join(dir, 'edge_transform.wasm')).size} bytes)\n`);
  console.log('| Node boot | load @aws-sdk/client-s3 | handler init | of which read / compile / instantiate wasm | first request | total | second request | RSS MB |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(`| ${f(cold.node)} | ${f(cold.sdk)} | ${f(cold.init)} | ${f(cold.read)} / ${f(cold.compile)} / ${f(cold.instantiate)} | ${f(cold.first)} | ${f(cold.total)} | ${f(cold.second)} | ${mb(cold.rssMB)} |`);
}

const args = process.argv.slice(2);
(args[0] === '--rss' ? rssChild(args[1], args[2], args[3]) : main(args)).catch((e) => {
  console.error(e);
  process.exit(1);
});
