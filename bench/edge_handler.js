'use strict';
/**
 * The Lambda@Edge handler from the built zip, driven as CloudFront drives it, for the
 * benchmarks (bench/transform.js warm, bench/edge_cold.js cold): a real origin-request
 * event (tests/edge/events.js builds it, as for the tests) for a miss on one original.
 *
 * S3 is an in-memory object store answering the two commands the handler sends, so the
 * numbers are the handler's own work (event, settings, transform, response) and not a
 * network's or a local S3 server's: S3 latency is real but elsewhere (README, system
 * benchmark). The variants bucket is emptied before each request so every request is a
 * miss that transforms.
 */
const path = require('path');

const BUCKET = 'bench-originals';
const REGION = 'us-east-1';
const VARIANTS = 'bench-variants';

function notFound() {
  return Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
}

/** `s3ClientFor` for createHandler: every region shares one in-memory store. */
function memoryS3(sdk) {
  const objects = new Map();
  const client = {
    async send(command) {
      const { Bucket, Key } = command.input;
      const id = `${Bucket}/${Key}`;
      if (command instanceof sdk.GetObjectCommand) {
        const o = objects.get(id);
        if (!o) throw notFound();
        return {
          Body: { transformToByteArray: async () => o.body, destroy() {} },
          ContentLength: o.body.length,
          ContentType: o.contentType,
          ETag: o.etag,
          Metadata: o.metadata,
          CacheControl: o.cacheControl,
        };
      }
      if (command instanceof sdk.PutObjectCommand) {
        objects.set(id, { body: command.input.Body, contentType: command.input.ContentType, etag: '"v"', metadata: command.input.Metadata || {}, cacheControl: command.input.CacheControl });
        return { ETag: '"v"' };
      }
      throw new Error(`bench S3: unexpected ${command.constructor.name}`);
    },
  };
  return {
    s3ClientFor: () => client,
    putOriginal(key, body, contentType) {
      objects.set(`${BUCKET}/${key}`, { body, contentType, etag: '"original-1"', metadata: {} });
    },
    clearVariants() {
      for (const id of [...objects.keys()]) if (id.startsWith(`${VARIANTS}/`)) objects.delete(id);
    },
  };
}

/**
 * A handler from the unpacked zip in `dir` around `engine`, with one original; returns
 * `miss(query)`, which runs one origin request for it and returns the response.
 */
function benchHandler(dir, engine, original) {
  const events = require(path.resolve(__dirname, '../tests/edge/events'));
  const sdk = require('@aws-sdk/client-s3');
  const { createHandler } = require(path.join(dir, 'index.js'));
  const s3 = memoryS3(sdk);
  s3.putOriginal('shop/bench', original, 'application/octet-stream');
  const handler = createHandler({ engine, s3ClientFor: s3.s3ClientFor, log: () => {} });
  const headers = events.originHeaders({
    variantsBucket: VARIANTS,
    variantsRegion: REGION,
    fallbackBucket: 'bench-fallback',
    fallbackRegion: 'us-west-2',
    megapixels: 100,
    megabytes: 64,
    prefixes: 'shop',
  });
  return async function miss(query) {
    s3.clearVariants();
    const event = events.originRequestEvent({ uri: '/shop/bench', querystring: query, bucket: BUCKET, region: REGION, headers });
    const response = await handler(event);
    if (String(response.status) !== '200') throw new Error(`handler ${query}: ${response.status} ${JSON.stringify(response.headers)}`);
    return response;
  };
}

module.exports = { benchHandler };
