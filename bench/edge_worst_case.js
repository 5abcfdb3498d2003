#!/usr/bin/env node
'use strict';
// The edge's worst cases, per output format, at a claim's maxima: the wasm transform as
// the Lambda@Edge handler runs it (the same Engine, the same per-format budgets and
// stand-ins), timed in this process. Called by bench/edge_worst_case.sh, which makes the
// sources.
//
//   node bench/edge_worst_case.js WASM ITERATIONS CASES.json
//
// CASES.json: [{"label", "file", "query", "limits": {maxSourcePixels, maxSourceBytes,
// maxWidth, maxHeight, defaultQuality}}]. Prints one Markdown row per case: median ms
// (after one warm-up), what came out, and whether it was a stand-in.
const fs = require('fs');
const path = require('path');
const { Engine } = require(path.resolve(__dirname, '../lambda/edge/js/engine'));

const [wasm, iterations, casesFile] = process.argv.slice(2);
const cases = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
const engine = new Engine({ wasmPath: wasm, maxMemoryBytes: 3 * 1024 * 1024 * 1024 }).warm();

console.log('| case | request | output | stand-in for | median ms | wasm memory MB | process RSS MB |');
console.log('| --- | --- | --- | --- | ---: | ---: | ---: |');
for (const c of cases) {
  const input = fs.readFileSync(c.file);
  const times = [];
  let out;
  for (let i = 0; i < Number(iterations) + 1; i++) {
    const t0 = performance.now();
    out = engine.transform(input, c.query, c.limits);
    if (i > 0) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const what = out.status === 200 ? `${out.format} ${out.width}x${out.height}` : `${out.status} ${out.error}`;
  const memory = engine.memoryBytes() / (1024 * 1024);
  const rss = process.memoryUsage().rss / (1024 * 1024);
  console.log(`| ${c.label} | \`${c.query}\` | ${what} | ${out.standInFor || ''} | ${median.toFixed(0)} | ${memory.toFixed(0)} | ${rss.toFixed(0)} |`);
  // Each case starts from a fresh instance, as a container after a large request does.
  engine.instance = null;
}
