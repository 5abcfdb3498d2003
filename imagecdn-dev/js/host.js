'use strict';
/**
 * The Node.js side of imagecdn-dev: runs the code that ships, unmodified, for the Rust
 * emulator of CloudFront.
 *
 *   node host.js EDGE_DIR
 *
 * EDGE_DIR is the unpacked dist/edge-transform.zip; its `index.handler` (with its wasm
 * module) is loaded once, as Lambda@Edge's Node.js 22 runtime would at init, with the
 * AWS SDK from NODE_PATH (the runtime provides it in AWS) and S3 reached through
 * AWS_ENDPOINT_URL_S3 (the emulator's S3 router, which sends each bucket to its region).
 *
 * Protocol: one JSON object per line on stdin, one answer per line on stdout, matched by
 * `id`; requests run concurrently, as separate Lambda@Edge instances would.
 *   {id, op: "define", function, code} -> {id, result: {}} (compiles a function once)
 *   {id, op: "viewer", function, request: {uri, query, headers, method, ip}, context}
 *     -> {id, result: {response} | {request: {uri, query, headers}}} or {id, error}
 *   {id, op: "origin-request", event} -> {id, result} or {id, error}
 * Everything the shipped code logs goes to stderr, so stdout carries only answers.
 */
const path = require('path');
const readline = require('readline');
const util = require('util');

const protocol = process.stdout;
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => process.stderr.write(util.format(...args) + '\n');
}

const cf = require('./cloudfront_function.js');

const edgeDir = process.argv[2];
if (!edgeDir) {
  process.stderr.write('usage: node host.js EDGE_DIR\n');
  process.exit(2);
}
const edge = require(path.resolve(edgeDir, 'index.js'));

/** Sandboxes by function ID (`define`), reused across requests like a warm CloudFront Function. */
const boxes = new Map();

let counter = 0;
function viewer(msg) {
  const b = boxes.get(msg.function);
  if (!b) throw new Error(`function ${msg.function} was not defined`);
  const event = cf.buildEvent(msg.request, ++counter, msg.context);
  const result = cf.invokeWithTimeout(b, JSON.stringify(event));
  if (result && result.statusCode !== undefined) return { response: result };
  const qs = cf.serializeQuerystring(result.querystring);
  if (!qs.ok) throw new Error(qs.error);
  const headers = {};
  for (const name of Object.keys(result.headers || {})) headers[name] = result.headers[name].value;
  return { request: { uri: result.uri, query: qs.text, headers } };
}

async function handle(line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    process.stderr.write(`host.js: not JSON: ${line.slice(0, 200)}\n`);
    return;
  }
  let answer;
  try {
    if (msg.op === 'define') {
      boxes.set(msg.function, cf.sandbox(msg.code));
      answer = { id: msg.id, result: {} };
    } else if (msg.op === 'viewer') answer = { id: msg.id, result: viewer(msg) };
    else if (msg.op === 'origin-request') answer = { id: msg.id, result: await edge.handler(msg.event) };
    else answer = { id: msg.id, error: `unknown op ${JSON.stringify(msg.op)}` };
  } catch (e) {
    answer = { id: msg.id, error: String((e && e.stack) || e) };
  }
  protocol.write(JSON.stringify(answer) + '\n');
}

readline.createInterface({ input: process.stdin, crlfDelay: Infinity }).on('line', (line) => {
  handle(line);
});
process.stdin.on('end', () => process.exit(0));
protocol.write(JSON.stringify({ ready: true }) + '\n');
