'use strict';
/**
 * CloudFront's origin-request event and the origin custom headers the composition
 * function sets, for the edge tests (harness.js) and the benchmarks (bench/edge_handler.js).
 * No dependencies, so a benchmark can build events without loading the test harness.
 */

/** Origin custom headers as the composition function sets them. */
function originHeaders(s) {
  const h = {};
  const set = (name, value) => {
    if (value !== undefined) h[name] = [{ key: name, value: String(value) }];
  };
  set('x-imagecdn-variants-bucket', s.variantsBucket);
  set('x-imagecdn-variants-region', s.variantsRegion);
  set('x-imagecdn-fallback-bucket', s.fallbackBucket);
  set('x-imagecdn-fallback-region', s.fallbackRegion);
  set('x-imagecdn-max-source-megapixels', s.megapixels ?? 50);
  set('x-imagecdn-max-source-megabytes', s.megabytes ?? 32);
  set('x-imagecdn-default-quality', s.quality ?? 80);
  set('x-imagecdn-max-output', s.maxOutput ?? '4096x4096');
  set('x-imagecdn-tenant-prefixes', s.prefixes ?? 'shop,partners/media');
  return h;
}

/** A CloudFront origin-request event, in the documented shape. */
function originRequestEvent({ uri, querystring = '', bucket, region, headers, method = 'GET' }) {
  const domainName = `${bucket}.s3.${region}.amazonaws.com`;
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: 'd111111abcdef8.cloudfront.net',
            distributionId: 'EDFDVBD6EXAMPLE',
            eventType: 'origin-request',
            requestId: `test-${Math.random().toString(36).slice(2)}`,
          },
          request: {
            clientIp: '203.0.113.178',
            headers: {
              host: [{ key: 'Host', value: domainName }],
              'user-agent': [{ key: 'User-Agent', value: 'Amazon CloudFront' }],
              via: [{ key: 'Via', value: '2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)' }],
            },
            method,
            origin: {
              s3: { authMethod: 'origin-access-identity', customHeaders: headers, domainName, path: '', region },
            },
            querystring,
            uri,
          },
        },
      },
    ],
  };
}

module.exports = { originHeaders, originRequestEvent };
