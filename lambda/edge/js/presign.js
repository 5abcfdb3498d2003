'use strict';
/**
 * SigV4 query-string presigning of one S3 GET, for pointing CloudFront at the variants
 * bucket.
 *
 * Why: the distribution's S3 origins use origin access control, and OAC does not sign a
 * request whose origin a Lambda@Edge function changed. So the handler sends such a
 * request unsigned by CloudFront (`authMethod: 'none'`) and signs it itself, in the query
 * string, with the function's own role (which the variants bucket policy already
 * allows). Hand-written (node:crypto only) so the package needs nothing beyond the SDK's
 * S3 client; tests check it against the SDK's own signer.
 */
const crypto = require('crypto');

/** RFC 3986 encoding as SigV4 wants it: everything but `A-Za-z0-9-_.~`. */
function strictEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** The request path of an S3 key: each segment strictly encoded, slashes kept. */
function keyPath(key) {
  return '/' + key.split('/').map(strictEncode).join('/');
}

const hmac = (key, data) => crypto.createHmac('sha256', key).update(data, 'utf8').digest();
const sha256 = (data) => crypto.createHash('sha256').update(data, 'utf8').digest('hex');

/**
 * @param {object} p
 * @param {string} p.host  `<bucket>.s3.<region>.amazonaws.com`
 * @param {string} p.path  already encoded (see keyPath)
 * @param {string} p.region
 * @param {{accessKeyId: string, secretAccessKey: string, sessionToken?: string}} p.credentials
 * @param {Date} [p.now]
 * @param {number} [p.expiresIn] seconds
 * @param {Record<string, string>} [p.params] more query parameters to sign (such as
 *   `response-cache-control`, which makes S3 answer with that Cache-Control)
 * @returns {string} the query string (no leading `?`)
 */
function presignGet({ host, path, region, credentials, now = new Date(), expiresIn = 300, params: extra = {} }) {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/s3/aws4_request`;
  const params = {
    ...extra,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': String(expiresIn),
    'X-Amz-SignedHeaders': 'host',
  };
  if (credentials.sessionToken) params['X-Amz-Security-Token'] = credentials.sessionToken;
  const query = Object.keys(params)
    .sort()
    .map((k) => `${strictEncode(k)}=${strictEncode(params[k])}`)
    .join('&');
  const canonicalRequest = ['GET', path, query, `host:${host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  let key = hmac('AWS4' + credentials.secretAccessKey, day);
  for (const part of [region, 's3', 'aws4_request']) key = hmac(key, part);
  const signature = crypto.createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  return `${query}&X-Amz-Signature=${signature}`;
}

module.exports = { presignGet, keyPath, strictEncode };
