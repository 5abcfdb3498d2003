'use strict';
/**
 * ImageCDN's Lambda@Edge origin-request handler (runtime nodejs22.x, handler
 * index.handler).
 *
 * The viewer-request function already made the request canonical. Here, on a cache
 * miss: serve the pre-computed variant if the variants bucket has it; otherwise read the
 * original from the origin CloudFront chose (then from the claim's third region when that
 * fails), transform it in the Rust core (WebAssembly), store the variant, and answer
 * inline when the response fits Lambda@Edge's 1 MB limit, else point the request at the
 * variants bucket.
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

/**
 * @param {object} [opts]
 * @param {(region: string) => import('@aws-sdk/client-s3').S3Client} [opts.s3ClientFor]
 * @param {Engine} [opts.engine]
 * @param {number} [opts.originTimeoutMs] per origin read, before trying the next origin
 * @param {(entry: object) => void} [opts.log] one structured line per request
 */
function createHandler(opts = {}) {
  const s3ClientFor = opts.s3ClientFor || defaultS3ClientFor();
  const engine = opts.engine || new Engine();
  const originTimeoutMs = opts.originTimeoutMs || 8000;
  const log = opts.log || ((entry) => console.log(JSON.stringify(entry)));
  const { GetObjectCommand, PutObjectCommand } = require('@aws-sdk/client-s3');

  async function get(where, key, timeoutMs) {
    const abortSignal = AbortSignal.timeout(timeoutMs);
    return s3ClientFor(where.region).send(new GetObjectCommand({ Bucket: where.bucket, Key: key }), { abortSignal });
  }

  /** The stored variant: `{kind: 'inline', body, ...}`, `{kind: 'large'}` or `{kind: 'miss'}`. */
  async function lookupVariant(cfg, variantKey, notes) {
    try {
      const res = await get(cfg.variants, variantKey, originTimeoutMs);
      if (!mayFit(Number(res.ContentLength))) {
        res.Body.destroy();
        return { kind: 'large' };
      }
      const body = await res.Body.transformToByteArray();
      return { kind: 'inline', body, contentType: res.ContentType, cacheControl: res.CacheControl };
    } catch (e) {
      if (!isNotFound(e)) notes.push(`variants lookup failed: ${e.name || e}`);
      return { kind: 'miss' };
    }
  }

  /**
   * The original from the chosen origin, then the fallback region on a failure that is not
   * a 404: `{kind: 'ok', body, etag}`, `{kind: 'missing'}`, `{kind: 'too-large', size}`,
   * `{kind: 'down'}`.
   */
  async function fetchOriginal(cfg, key, notes) {
    const origins = [cfg.chosen];
    if (cfg.fallback && cfg.fallback.bucket !== cfg.chosen.bucket) origins.push(cfg.fallback);
    for (const where of origins) {
      try {
        const res = await get(where, key, originTimeoutMs);
        const size = Number(res.ContentLength);
        if (size > cfg.limits.maxSourceBytes) {
          res.Body.destroy();
          return { kind: 'too-large', size };
        }
        const body = await res.Body.transformToByteArray();
        return { kind: 'ok', body, etag: res.ETag || '', from: where.bucket };
      } catch (e) {
        if (isNotFound(e)) return { kind: 'missing' };
        notes.push(`s3://${where.bucket} failed: ${e.name || e}${statusOf(e) ? ' ' + statusOf(e) : ''}`);
      }
    }
    return { kind: 'down' };
  }

  async function storeVariant(cfg, variantKey, out, etag, notes) {
    try {
      await s3ClientFor(cfg.variants.region).send(
        new PutObjectCommand({
          Bucket: cfg.variants.bucket,
          Key: variantKey,
          Body: out.body,
          ContentType: out.contentType,
          CacheControl: VARIANT_CACHE_CONTROL,
          Metadata: { 'source-etag': etag },
        }),
        { abortSignal: AbortSignal.timeout(originTimeoutMs) },
      );
      return true;
    } catch (e) {
      notes.push(`storing the variant failed: ${e.name || e}`);
      return false;
    }
  }

  /**
   * Sends the request to the variants bucket for `variantKey`. CloudFront does not sign
   * a redirected origin with OAC, so the request carries its own SigV4 query signature
   * (the function's role may read the variants bucket); see presign.js.
   */
  async function pointAtVariants(request, cfg, variantKey) {
    const { bucket, region } = cfg.variants;
    const domainName = `${bucket}.s3.${region}.amazonaws.com`;
    const credentials = await s3ClientFor(region).config.credentials();
    request.origin = { s3: { authMethod: 'none', customHeaders: {}, domainName, path: '', region } };
    request.headers = request.headers || {};
    request.headers.host = [{ key: 'Host', value: domainName }];
    request.uri = keyPath(variantKey);
    request.querystring = presignGet({ host: domainName, path: request.uri, region, credentials });
    return request;
  }

  async function handle(request) {
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
    const hit = await timing.time('fetch', () => lookupVariant(cfg, parsed.variantKey, notes));
    if (hit.kind === 'inline') {
      const r = imageResponse(hit.body, hit.contentType, hit.cacheControl || VARIANT_CACHE_CONTROL, timing);
      if (fits(r)) return { response: r, outcome: 'stored-inline', notes };
    }
    if (hit.kind !== 'miss') return { response: await pointAtVariants(request, cfg, parsed.variantKey), outcome: 'stored-origin', notes };

    const src = await timing.time('fetch', () => fetchOriginal(cfg, parsed.key, notes));
    if (src.kind === 'missing') return { response: errorResponse(404, 'no such image', SHORT_CACHE_CONTROL), outcome: 'missing', notes };
    if (src.kind === 'too-large') {
      return { response: errorResponse(413, `source is ${src.size} bytes, over the limit of ${cfg.limits.maxSourceBytes}`), outcome: 'refused', notes };
    }
    if (src.kind === 'down') return { response: errorResponse(503, 'every origin failed', NO_STORE), outcome: 'origins-down', notes };

    const out = await timing.time('transform', () => engine.transform(src.body, parsed.query, cfg.limits));
    src.body = null;
    if (out.status !== 200) return { response: errorResponse(out.status, out.error), outcome: 'transform-error', notes };

    const stored = await timing.time('store', () => storeVariant(cfg, parsed.variantKey, out, src.etag, notes));
    const r = imageResponse(out.body, out.contentType, stored ? VARIANT_CACHE_CONTROL : SHORT_CACHE_CONTROL, timing);
    if (fits(r)) return { response: r, outcome: stored ? 'rendered-inline' : 'rendered-unstored', notes };
    if (stored) return { response: await pointAtVariants(request, cfg, parsed.variantKey), outcome: 'rendered-origin', notes };
    return { response: errorResponse(503, 'the variant is too large to return and could not be stored', NO_STORE), outcome: 'unstored-too-large', notes };
  }

  return async function handler(event) {
    const cf = event.Records[0].cf;
    const request = cf.request;
    const uri = request.uri;
    const t0 = performance.now();
    let result;
    try {
      result = await handle(request);
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
exports.handler = createHandler();
