'use strict';
/**
 * One Lambda@Edge cold start, in this fresh Node process: what a container does between
 * starting and answering its first miss. Run once per process by bench/transform.js.
 *
 *   node bench/edge_cold.js DIR SOURCE QUERY      (DIR: the unpacked dist/edge-transform.zip)
 *
 * Prints one JSON line of milliseconds:
 * - `node`: process start to this script's first line (Node's own boot; Lambda's runtime
 *   bootstrap replaces this in production);
 * - `sdk`: loading @aws-sdk/client-s3 (the runtime provides it; the handler loads it at init);
 * - `init`: the rest of requiring index.js: the handler's modules, and reading (`read`),
 *   compiling (`compile`) and instantiating (`instantiate`) the wasm module;
 * - `first`: the first request (a miss through the handler: event, settings, S3 in memory,
 *   transform, response), which also compiles the functions it runs (V8 compiles
 *   WebAssembly lazily, baseline first);
 * - `second`: the same request again, for comparison;
 * - `total`: process start to the first response.
 */
const fs = require('fs');
const path = require('path');

const node = performance.now();
const [dir, source, query] = process.argv.slice(2);
const original = fs.readFileSync(source);

(async () => {
  const t0 = performance.now();
  require('@aws-sdk/client-s3');
  const t1 = performance.now();
  const index = require(path.join(dir, 'index.js'));
  const t2 = performance.now();
  if (!index.engine) throw new Error('the handler failed to load its engine');
  const { benchHandler } = require('./edge_handler');
  const miss = benchHandler(dir, index.engine, original);
  const t3 = performance.now();
  await miss(query);
  const t4 = performance.now();
  await miss(query);
  const t5 = performance.now();
  const { readMs, compileMs, instantiateMs } = index.engine.loadTimings;
  console.log(
    JSON.stringify({
      node,
      sdk: t1 - t0,
      init: t2 - t1,
      read: readMs,
      compile: compileMs,
      instantiate: instantiateMs,
      first: t4 - t3,
      second: t5 - t4,
      total: node + (t2 - t0) + (t4 - t3),
      rssMB: process.memoryUsage().rss / 2 ** 20,
    }),
  );
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
