'use strict';
/**
 * Test harness for the Lambda@Edge handler: moto S3 servers (one per region, stop one
 * to fail that region), S3 clients pointed at them, and real CloudFront origin-request
 * events.
 *
 * Environment:
 *   IMAGECDN_MOTO_SERVER  moto_server binary (default: the tests/run.sh venv's)
 *   IMAGECDN_EDGE_WASM    the built module (default: the cargo target dir's release build)
 *   IMAGECDN_EDGE_NPM     node_modules with @aws-sdk/client-s3 and sharp (default .peers/npm-edge)
 *   IMAGECDN_CORPUS_DIR   the image corpus (default ../shared/corpus)
 */
const path = require('path');
const os = require('os');
const fs = require('fs');
const net = require('net');
const { spawn } = require('child_process');

const ROOT = path.resolve(__dirname, '../..');
// The handler requires '@aws-sdk/client-s3' as the Lambda runtime provides it; here the
// test copy lives in a gitignored directory, made resolvable for every module.
const NPM = process.env.IMAGECDN_EDGE_NPM || path.join(ROOT, '.peers/npm-edge/node_modules');
if (!(process.env.NODE_PATH || '').split(path.delimiter).includes(NPM)) {
  process.env.NODE_PATH = [NPM, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  require('module').Module._initPaths();
}

const { S3Client } = require('@aws-sdk/client-s3');
const { Engine } = require(path.join(ROOT, 'lambda/edge/js/engine'));
const { createHandler } = require(path.join(ROOT, 'lambda/edge/js/index'));
const { originHeaders, originRequestEvent } = require('./events');

const CARGO_TARGET_DIR = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache/imagecdn/target');
const WASM = process.env.IMAGECDN_EDGE_WASM || path.join(CARGO_TARGET_DIR, 'wasm32-wasip1/release/imagecdn_edge_wasm.wasm');
const MOTO = process.env.IMAGECDN_MOTO_SERVER || path.join(os.homedir(), '.cache/imagecdn/peers/venv/bin/moto_server');
const CORPUS = process.env.IMAGECDN_CORPUS_DIR || path.resolve(ROOT, '../shared/corpus');

function corpus(prefix) {
  const name = fs.readdirSync(CORPUS).find((f) => f.startsWith(prefix));
  if (!name) throw new Error(`no corpus file ${prefix}* in ${CORPUS}`);
  return { name, bytes: fs.readFileSync(path.join(CORPUS, name)) };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, proc, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`moto_server exited with ${proc.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server not listening on ${port} after ${timeoutMs} ms`);
}

/** One moto server for one region. */
class MotoServer {
  static async start(region) {
    if (!fs.existsSync(MOTO)) throw new Error(`moto_server not found at ${MOTO} (set IMAGECDN_MOTO_SERVER or run tests/run.sh)`);
    const port = await freePort();
    const proc = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    await waitForPort(port, proc);
    const m = new MotoServer();
    Object.assign(m, { region, port, proc, endpoint: `http://127.0.0.1:${port}` });
    return m;
  }

  async stop() {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
  }
}

function s3Client(region, endpoint) {
  return new S3Client({
    region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    // Fail fast: the handler's own fallback region is the retry.
    maxAttempts: 1,
  });
}

/** `s3ClientFor(region)` over a mutable region -> endpoint map (closed port when absent). */
function clientsFor(endpoints) {
  const clients = new Map();
  return (region) => {
    const endpoint = endpoints[region] || 'http://127.0.0.1:9';
    const k = `${region} ${endpoint}`;
    if (!clients.has(k)) clients.set(k, s3Client(region, endpoint));
    return clients.get(k);
  };
}

async function createBucket(client, bucket, region) {
  const { CreateBucketCommand } = require('@aws-sdk/client-s3');
  const conf = region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region } };
  await client.send(new CreateBucketCommand({ Bucket: bucket, ...conf }));
}

/** A handler with the test's clients and the built module; logs are collected. */
function testHandler(endpoints, extra = {}) {
  const logs = [];
  const engine = extra.engine || new Engine({ wasmPath: WASM });
  const handler = createHandler({ s3ClientFor: clientsFor(endpoints), engine, log: (e) => logs.push(e), ...extra });
  return { handler, engine, logs };
}

const headerValue = (r, name) => r.headers && r.headers[name] && r.headers[name][0].value;

module.exports = {
  ROOT,
  WASM,
  CORPUS,
  MotoServer,
  corpus,
  s3Client,
  clientsFor,
  createBucket,
  originHeaders,
  originRequestEvent,
  testHandler,
  headerValue,
  freePort,
};
