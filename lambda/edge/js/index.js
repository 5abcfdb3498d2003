'use strict';
/**
 * ImageCDN's Lambda@Edge origin-request handler (runtime nodejs22.x, handler
 * index.handler).
 *
 * The viewer-request function already made the request canonical. Here, on a cache
 * miss, the stored variant and the original are looked up at once: a variant is served
 * only while the original it was rendered from is still there, unchanged (its
 * `source-etag` equals the original's ETag), so a taken-down or overwritten original
 * never comes back from the variants bucket. Otherwise the original is read from the
 * origin CloudFront chose (then from the claim's third region when that fails),
 * transformed in the Rust core (WebAssembly), stored, and answered inline when the
 * response fits Lambda@Edge's 1 MB limit, else by pointing the request at the variants
 * bucket.
 *
 * One deadline bounds the whole request (well inside the function's 30 s timeout), with
 * per-call caps that leave time to fail over and transform; a region that timed out is
 * not written to. Long cache lifetimes are given only to answers verified against the
 * primary region (where uploads and deletions happen) and stored; anything else
 * (a failover, an unverifiable or unstored variant, a stand-in format) is cached for a
 * minute.
 *
 * Per-claim settings come from the origin's custom headers (Lambda@Edge has no
 * environment variables), so one package serves every claim. SSRF is impossible by
 * construction: the only buckets ever read are the chosen origin's and those named in
 * the origin config, and keys are validated by the same Rust code as the URL API.
 */
const { Engine } = require('./engine');
const { presignGet, keyPath } = require('./presign');

/** A variant is cached long only once it is stored: takedowns delete stored variants. */
const VARIANT_CACHE_CONTROL = 'public, max-age=31536000';
const SHORT_CACHE_CONTROL = 'public, max-age=60';
const NO_STORE = 'no-store';
/** Metadata naming the ETag of the original a variant was rendered from. */
const SOURCE_ETAG = 'source-etag';

/**
 * The time budget of one request, in ms. Lambda@Edge stops an origin-request function at
 * its timeout (30 s, the maximum): the whole request gets `totalMs`; one S3 call waits at
 * most `firstByteMs` for its response headers (a hanging region is abandoned, then the
 * next one tried), reading a body at most `bodyMs`; failing over to another region is
 * tried only while `transformReserveMs` would still be left for the transform (whose own
 * cost the core bounds per format, see lambda/edge/src/lib.rs `edge_budget`); storing
 * gets at most `storeMs`.
 */
const DEFAULT_BUDGET = Object.freeze({ totalMs: 24000, firstByteMs: 3000, bodyMs: 8000, storeMs: 3000, transformReserveMs: 9000 });
/** Lambda@Edge's generated-response limit (body as base64 plus headers), read as 10^6. */
const MAX_GENERATED_RESPONSE = 1000 * 1000;
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const S3_DOMAIN_RE = /^(.+)\.s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$/;

class ConfigError extends Error {}

function header(headers, name) {
  const v = headers && headers[name];
  return v && v[0] && typeof v[0].value === 'string' ? v[0].value.trim() : '';
}

function bucketAt(bucket, region, what) {
  if (!BUCKET_RE.test(bucket)) throw new ConfigError(`${what}: bad bucket ${JSON.stringify(bucket)}`);
  if (!REGION_RE.test(region)) throw new ConfigError(`${what}: bad region ${JSON.stringify(region)}`);
  return { bucket, region };
}

function positive(value, fallback) {
  const n = Number(value);
  return value !== '' && Number.isFinite(n) && n > 0 ? n : fallback;
}

/**
 * `x-imagecdn-max-output: <maxWidth>x<maxHeight>` (the claim's output bounds). Absent:
 * [0, 0], which the core reads as the schema's own bound; malformed: a config error.
 */
function maxOutput(value) {
  if (value === undefined || value === '') return [0, 0];
  const m = /^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$/.exec(value);
  if (!m) throw new ConfigError(`x-imagecdn-max-output: expected <width>x<height>, got ${JSON.stringify(value)}`);
  return [Number(m[1]), Number(m[2])];
}

/** The claim's settings and the origin CloudFront chose, from `request.origin.s3`. */
function readSettings(s3) {
  const h = s3.customHeaders || {};
  const m = S3_DOMAIN_RE.exec(s3.domainName || '');
  if (!m) throw new ConfigError(`origin ${JSON.stringify(s3.domainName)} is not an S3 bucket domain`);
  const chosen = bucketAt(m[1], s3.region || m[2] || 'us-east-1', 'origin');
  const variants = bucketAt(header(h, 'x-imagecdn-variants-bucket'), header(h, 'x-imagecdn-variants-region'), 'variants');
  const fb = header(h, 'x-imagecdn-fallback-bucket');
  const fallback = fb ? bucketAt(fb, header(h, 'x-imagecdn-fallback-region'), 'fallback') : null;
  const [maxWidth, maxHeight] = maxOutput(header(h, 'x-imagecdn-max-output'));
  return {
    chosen,
    variants,
    fallback,
    authMethod: s3.authMethod,
    prefixes: header(h, 'x-imagecdn-tenant-prefixes'),
    limits: {
      maxSourcePixels: Math.floor(positive(header(h, 'x-imagecdn-max-source-megapixels'), 50) * 1e6),
      maxSourceBytes: Math.floor(positive(header(h, 'x-imagecdn-max-source-megabytes'), 32) * 1024 * 1024),
      defaultQuality: Math.min(100, Math.floor(positive(header(h, 'x-imagecdn-default-quality'), 80))),
      maxWidth,
      maxHeight,
    },
  };
}

function cfHeaders(pairs) {
  const out = {};
  for (const [key, value] of pairs) if (value !== undefined) out[key.toLowerCase()] = [{ key, value: String(value) }];
  return out;
}

const REASONS = { 200: 'OK', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };

function errorResponse(status, message, cacheControl) {
  return {
    status: String(status),
    statusDescription: REASONS[status] || 'Error',
    headers: cfHeaders([
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Cache-Control', cacheControl || (status >= 500 ? NO_STORE : SHORT_CACHE_CONTROL)],
    ]),
    body: `${status} ${REASONS[status] || 'Error'}: ${message}\n`,
  };
}

function imageResponse(body, contentType, cacheControl, timing) {
  return {
    status: '200',
    statusDescription: 'OK',
    headers: cfHeaders([
      ['Content-Type', contentType],
      ['Cache-Control', cacheControl],
      ['Server-Timing', timing.header()],
    ]),
    bodyEncoding: 'base64',
    body: Buffer.from(body).toString('base64'),
  };
}

/** Whether a generated response stays within Lambda@Edge's 1 MB (headers included). */
function fits(response) {
  return response.body.length + JSON.stringify(response.headers).length + 256 <= MAX_GENERATED_RESPONSE;
}

/** Upper bound of the generated response for `n` body bytes (base64 + headers). */
function mayFit(n) {
  return Math.ceil(n / 3) * 4 + 1024 <= MAX_GENERATED_RESPONSE;
}

/** `Server-Timing` phases in milliseconds (several calls to one phase add up). */
class Timing {
  constructor() {
    this.phases = new Map();
  }
  async time(name, fn) {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.phases.set(name, (this.phases.get(name) || 0) + performance.now() - t0);
    }
  }
  header() {
    return [...this.phases].map(([n, d]) => `${n};dur=${d.toFixed(1)}`).join(',');
  }
}

const statusOf = (e) => (e && e.$metadata && e.$metadata.httpStatusCode) || 0;
const isNotFound = (e) => e && (e.name === 'NoSuchKey' || e.name === 'NotFound' || statusOf(e) === 404);

/** Production S3 clients: one per region, few retries (the fallback region is the retry). */
function defaultS3ClientFor() {
  const clients = new Map();
  return (region) => {
    if (!clients.has(region)) {
      const { S3Client } = require('@aws-sdk/client-s3');
      clients.set(region, new S3Client({ region, maxAttempts: 2, requestHandler: { connectionTimeout: 2000, requestTimeout: 8000 } }));
    }
    return clients.get(region);
  };
}

class DeadlineExceeded extends Error {
  constructor(what, ms) {
    super(`${what}: no answer within ${Math.max(0, Math.round(ms))} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/**
 * One request's clock: every S3 call goes through `call`, which caps it at its own limit
 * and at what is left of the request, and remembers the regions that did not answer in
 * time (the handler never writes to them afterwards).
 */
class RequestClock {
  constructor(budget) {
    this.budget = budget;
    this.deadline = performance.now() + budget.totalMs;
    this.slowRegions = new Set();
  }
  left() {
    return this.deadline - performance.now();
  }
  /** Runs `fn(signal)` for at most `min(capMs, left - reserveMs)`. */
  async call(region, what, capMs, reserveMs, fn) {
    const ms = Math.min(capMs, this.left() - reserveMs);
    if (ms <= 0) throw new DeadlineExceeded(what, 0);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), ms);
    try {
      return await fn(ac.signal);
    } catch (e) {
      if (ac.signal.aborted) {
        this.slowRegions.add(region);
        throw new DeadlineExceeded(what, ms);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
  /** Reads a response body within the same rules (a stalled body is destroyed). */
  async body(region, what, res, reserveMs = 0) {
    const ms = Math.min(this.budget.bodyMs, this.left() - reserveMs);
    if (ms <= 0) {
      discard(res);
      throw new DeadlineExceeded(what, 0);
    }
    let timer;
    const stalled = new Promise((_, reject) => {
      timer = setTimeout(() => {
        this.slowRegions.add(region);
        discard(res);
        reject(new DeadlineExceeded(what, ms));
      }, ms);
    });
    try {
      return await Promise.race([res.Body.transformToByteArray(), stalled]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Releases a response whose body will not be read. */
function discard(res) {
  if (res && res.Body && typeof res.Body.destroy === 'function') res.Body.destroy();
}

/**
 * @param {object} [opts]
 * @param {(region: string) => import('@aws-sdk/client-s3').S3Client} [opts.s3ClientFor]
 * @param {Engine} [opts.engine]
 * @param {Partial<typeof DEFAULT_BUDGET>} [opts.budget] the request's time budget
 * @param {(entry: object) => void} [opts.log] one structured line per request
 */
function createHandler(opts = {}) {
  const s3ClientFor = opts.s3ClientFor || defaultS3ClientFor();
  const engine = opts.engine || new Engine();
  const budget = Object.freeze({ ...DEFAULT_BUDGET, ...(opts.budget || {}) });
  const log = opts.log || ((entry) => console.log(JSON.stringify(entry)));
  const { GetObjectCommand, PutObjectCommand } = require('@aws-sdk/client-s3');

  function get(clock, where, key, reserveMs) {
    return clock.call(where.region, `s3://${where.bucket}`, budget.firstByteMs, reserveMs, (abortSignal) =>
      s3ClientFor(where.region).send(new GetObjectCommand({ Bucket: where.bucket, Key: key }), { abortSignal }),
    );
  }

  /**
   * The stored variant: `{kind: 'inline', body, sourceEtag, ...}`, `{kind: 'large',
   * sourceEtag}` or `{kind: 'miss'}` (absent, or its region failing).
   */
  async function lookupVariant(clock, cfg, variantKey, notes) {
    try {
      const res = await get(clock, cfg.variants, variantKey, 0);
      const sourceEtag = (res.Metadata && res.Metadata[SOURCE_ETAG]) || '';
      if (!mayFit(Number(res.ContentLength))) {
        discard(res);
        return { kind: 'large', sourceEtag };
      }
      const body = await clock.body(cfg.variants.region, 'variant body', res);
      return { kind: 'inline', body, sourceEtag, contentType: res.ContentType, cacheControl: res.CacheControl };
    } catch (e) {
      if (!isNotFound(e)) notes.push(`variants lookup failed: ${e.name || e}: ${e.message || ''}`.trim());
      return { kind: 'miss' };
    }
  }

  /**
   * Opens the original (headers only; the body is read later if needed): from `where`,
   * `{kind: 'ok', res, etag, where}`, `{kind: 'missing'}`, `{kind: 'too-large', size}` or
   * `{kind: 'failed'}`.
   */
  async function openOriginal(clock, cfg, where, key, reserveMs, notes) {
    try {
      const res = await get(clock, where, key, reserveMs);
      const size = Number(res.ContentLength);
      if (size > cfg.limits.maxSourceBytes) {
        discard(res);
        return { kind: 'too-large', size };
      }
      return { kind: 'ok', res, etag: res.ETag || '', where };
    } catch (e) {
      if (isNotFound(e)) return { kind: 'missing' };
      notes.push(`s3://${where.bucket} failed: ${e.name || e}${statusOf(e) ? ' ' + statusOf(e) : ''}`);
      return { kind: 'failed' };
    }
  }

  /** The chosen origin, then the third region when it fails and time allows. */
  async function original(clock, cfg, key, first, notes) {
    if (first.kind !== 'failed' || !cfg.fallback || cfg.fallback.bucket === cfg.chosen.bucket) return first;
    return openOriginal(clock, cfg, cfg.fallback, key, budget.transformReserveMs, notes);
  }

  /** Whether a write to the variants bucket may be tried now. */
  function canWrite(clock, cfg) {
    return !clock.slowRegions.has(cfg.variants.region) && clock.left() > 250;
  }

  async function put(clock, cfg, command, what, notes) {
    if (!canWrite(clock, cfg)) {
      notes.push(`${what} skipped: ${clock.slowRegions.has(cfg.variants.region) ? 'its region timed out' : 'no time left'}`);
      return false;
    }
    try {
      await clock.call(cfg.variants.region, what, budget.storeMs, 0, (abortSignal) =>
        s3ClientFor(cfg.variants.region).send(new PutObjectCommand(command), { abortSignal }),
      );
      return true;
    } catch (e) {
      notes.push(`${what} failed: ${e.name || e}`);
      return false;
    }
  }

  function storeVariant(clock, cfg, variantKey, out, etag, notes) {
    return put(clock, cfg, {
      Bucket: cfg.variants.bucket,
      Key: variantKey,
      Body: out.body,
      ContentType: out.contentType,
      CacheControl: VARIANT_CACHE_CONTROL,
      Metadata: { [SOURCE_ETAG]: etag },
    }, 'storing the variant', notes);
  }

  /**
   * Asks the regional renderer (next flush window) for a variant answered with a
   * stand-in; the request's key and body come from the wasm module, the same Rust type
   * the renderer reads.
   */
  function requestRender(clock, cfg, parsed, notes) {
    const { key, body } = parsed.renderRequest;
    return put(clock, cfg, { Bucket: cfg.variants.bucket, Key: key, Body: body, ContentType: 'application/json' }, 'requesting the render', notes);
  }

  /**
   * Sends the request to the variants bucket for `variantKey`. CloudFront does not sign
   * a redirected origin with OAC, so the request carries its own SigV4 query signature
   * (the function's role may read the variants bucket); see presign.js. When the answer
   * must not be cached long, the signed request asks S3 to say so
   * (`response-cache-control`).
   */
  async function pointAtVariants(request, cfg, variantKey, cacheControl) {
    const { bucket, region } = cfg.variants;
    const domainName = `${bucket}.s3.${region}.amazonaws.com`;
    const credentials = await s3ClientFor(region).config.credentials();
    request.origin = { s3: { authMethod: 'none', customHeaders: {}, domainName, path: '', region } };
    request.headers = request.headers || {};
    request.headers.host = [{ key: 'Host', value: domainName }];
    request.uri = keyPath(variantKey);
    const extra = cacheControl === VARIANT_CACHE_CONTROL ? {} : { 'response-cache-control': cacheControl };
    request.querystring = presignGet({ host: domainName, path: request.uri, region, credentials, params: extra });
    return request;
  }

  async function handle(request, clock) {
    const s3 = request.origin && request.origin.s3;
    if (!s3) return { response: errorResponse(502, 'the origin is not an S3 bucket', NO_STORE), outcome: 'misconfigured' };
    let cfg;
    try {
      cfg = readSettings(s3);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return { response: errorResponse(500, 'origin settings are invalid', NO_STORE), outcome: 'misconfigured', notes: [e.message] };
    }
    const parsed = engine.parse(request.uri || '', request.querystring || '', cfg.prefixes);
    if (parsed.status !== 200) return { response: errorResponse(parsed.status, parsed.error), outcome: 'refused' };
    if (!parsed.variantKey || (request.method !== 'GET' && request.method !== 'HEAD')) {
      return { response: request, outcome: 'original' };
    }

    const notes = [];
    const timing = new Timing();
    const [hit, first] = await timing.time('fetch', () =>
      Promise.all([
        lookupVariant(clock, cfg, parsed.variantKey, notes),
        openOriginal(clock, cfg, cfg.chosen, parsed.key, 0, notes),
      ]),
    );
    const src = await timing.time('fetch', () => original(clock, cfg, parsed.key, first, notes));
    if (src.kind === 'missing') return { response: errorResponse(404, 'no such image', SHORT_CACHE_CONTROL), outcome: 'missing', notes };
    if (src.kind === 'too-large') {
      return { response: errorResponse(413, `source is ${src.size} bytes, over the limit of ${cfg.limits.maxSourceBytes}`), outcome: 'refused', notes };
    }
    // Only the primary region (the variants bucket's) sees deletions and overwrites first.
    const verified = src.kind === 'ok' && src.where.region === cfg.variants.region;

    if (hit.kind !== 'miss') {
      const current = src.kind === 'ok' ? src.etag : null;
      if (current === null || hit.sourceEtag === current) {
        discard(src.res);
        // Every origin down: the variant is served, but briefly (it cannot be checked).
        const cacheControl = verified ? hit.cacheControl || VARIANT_CACHE_CONTROL : SHORT_CACHE_CONTROL;
        if (hit.kind === 'inline') {
          const r = imageResponse(hit.body, hit.contentType, cacheControl, timing);
          if (fits(r)) return { response: r, outcome: verified ? 'stored-inline' : 'stored-unverified', notes };
        }
        return { response: await pointAtVariants(request, cfg, parsed.variantKey, cacheControl), outcome: 'stored-origin', notes };
      }
      notes.push('stored variant is of another version of the original: rendered again');
    }
    if (src.kind !== 'ok') return { response: errorResponse(503, 'every origin failed', NO_STORE), outcome: 'origins-down', notes };

    let input;
    try {
      input = await timing.time('fetch', () => clock.body(src.where.region, 'original body', src.res, budget.transformReserveMs / 2));
    } catch (e) {
      notes.push(`reading the original failed: ${e.name || e}`);
      return { response: errorResponse(503, 'the original could not be read in time', NO_STORE), outcome: 'origins-down', notes };
    }
    const out = await timing.time('transform', () => engine.transform(input, parsed.query, cfg.limits));
    input = null;
    if (out.status !== 200) return { response: errorResponse(out.status, out.error), outcome: 'transform-error', notes };

    if (out.standInFor) {
      // Too costly for the edge in the requested format: the same image in a cheaper one,
      // briefly cached and never stored under the variant's key; the regional renderer
      // makes the real one, which later misses serve.
      await timing.time('store', () => requestRender(clock, cfg, parsed, notes));
      notes.push(`${out.standInFor} over the edge budget: answered as ${out.format}`);
      const r = imageResponse(out.body, out.contentType, SHORT_CACHE_CONTROL, timing);
      if (fits(r)) return { response: r, outcome: 'stand-in', notes };
      return { response: errorResponse(503, 'the variant is being rendered; retry shortly', NO_STORE), outcome: 'stand-in-too-large', notes };
    }

    const stored = await timing.time('store', () => storeVariant(clock, cfg, parsed.variantKey, out, src.etag, notes));
    const cacheControl = stored && verified ? VARIANT_CACHE_CONTROL : SHORT_CACHE_CONTROL;
    const r = imageResponse(out.body, out.contentType, cacheControl, timing);
    if (fits(r)) return { response: r, outcome: stored ? 'rendered-inline' : 'rendered-unstored', notes };
    if (stored) return { response: await pointAtVariants(request, cfg, parsed.variantKey, cacheControl), outcome: 'rendered-origin', notes };
    return { response: errorResponse(503, 'the variant is too large to return and could not be stored', NO_STORE), outcome: 'unstored-too-large', notes };
  }

  return async function handler(event) {
    const cf = event.Records[0].cf;
    const request = cf.request;
    const uri = request.uri;
    const t0 = performance.now();
    const clock = new RequestClock(budget);
    let result;
    try {
      result = await handle(request, clock);
    } catch (e) {
      result = { response: errorResponse(500, 'internal error', NO_STORE), outcome: 'crashed', notes: [String((e && e.stack) || e)] };
    }
    const r = result.response;
    log({
      requestId: cf.config && cf.config.requestId,
      uri,
      outcome: result.outcome,
      status: r.status ? Number(r.status) : 'forwarded',
      ms: Math.round(performance.now() - t0),
      notes: result.notes && result.notes.length ? result.notes : undefined,
    });
    return r;
  };
}

exports.createHandler = createHandler;
exports.readSettings = readSettings;
exports.MAX_GENERATED_RESPONSE = MAX_GENERATED_RESPONSE;
exports.DEFAULT_BUDGET = DEFAULT_BUDGET;

// The container's init (before the first request, outside its time): compile and
// instantiate the bundled wasm module once. If that fails (a broken package), every
// request says so instead of failing somewhere later.
// The engine is exported (null when it failed to load) for diagnostics and for
// bench/edge_cold.js, which times this init and a first request in a fresh process.
exports.engine = null;
exports.handler = (() => {
  let engine;
  try {
    engine = new Engine().warm();
  } catch (e) {
    const message = `edge_transform.wasm failed to load at init: ${(e && e.message) || e}`;
    console.error(message);
    return async () => errorResponse(500, 'the transform failed to load', NO_STORE);
  }
  exports.engine = engine;
  return createHandler({ engine });
})();
