// s3rver.js: s3rver 3.7.1 for the integration tests, with its listing
// fixed.
//
//   node s3rver.js PORT DIR [BUCKET...]
//
// Serves S3 on 127.0.0.1:PORT from DIR, creating BUCKETs, and prints
// "ready" once it listens. Credentials are s3rver's: S3RVER / S3RVER.
//
// The defect fixed here: s3rver's filesystem store does not walk below a
// directory whose path already holds the delimiter, so a listing with a
// delimiter reports no CommonPrefixes for keys two or more levels below
// the prefix (format doc §7.4: Litestream finds no generations). The
// listObjects below walks every directory under the prefix, derives the
// common prefixes from all keys, and sorts keys in byte order before
// applying start-after and max-keys (which, as in stock s3rver, counts
// objects only: its NextMarker and continuation token are object keys).
//
// S3RVER_LIST_LAG_MS (below) makes listings lag behind writes.
//
// s3rver also accepts any SigV4 signature from a known access key id. The
// middleware below checks header-signed SigV4 requests for real (the
// canonical request of the SigV4 spec, S3 rules: no path normalization,
// the x-amz-content-sha256 value as payload hash) against the secret
// S3RVER, and answers 403 SignatureDoesNotMatch otherwise, so a wrong
// secret fails here as it does on S3.
'use strict';

const path = require('path');
const fs = require('fs');
const crypto = require('crypto');

// s3rver encrypts ListObjectsV2 continuation tokens with single DES,
// which OpenSSL 3 (Node >= 17) only has in its legacy provider: every
// truncated v2 page is then a 500. Three-key DES-EDE with three equal
// keys is single DES, and is in the default provider.
for (const name of ['createCipheriv', 'createDecipheriv']) {
  const orig = crypto[name];
  crypto[name] = (alg, key, iv, ...rest) =>
    alg === 'des'
      ? orig('des-ede3-cbc', Buffer.concat([key, key, key]), iv, ...rest)
      : orig(alg, key, iv, ...rest);
}

const root = path.resolve(__dirname, '../../.deps/node_modules/s3rver');
const S3rver = require(root);
const FilesystemStore = require(path.join(root, 'lib/stores/filesystem'));
const S3Object = require(path.join(root, 'lib/models/object'));

const SUFFIX = '._S3rver_object';

// S3RVER_LIST_LAG_MS=N: listings leave out objects written less than N ms
// ago, as an eventually consistent store's listing lags behind its writes
// (GET and HEAD see them at once).
const LIST_LAG_MS = Number(process.env.S3RVER_LIST_LAG_MS || 0);

// Every object key below DIR whose path could start with PREFIX.
function collectKeys(bucketPath, prefix) {
  const keys = [];
  const walk = (dir, rel) => {
    let names;
    try {
      names = fs.readdirSync(dir);
    } catch (err) {
      if (err.code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      const full = path.join(dir, name);
      const st = fs.statSync(full);
      if (st.isDirectory()) {
        const sub = rel + name + '/';
        // descend only where the prefix and this directory overlap
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) walk(full, sub);
      } else if (name.endsWith(SUFFIX)) {
        if (LIST_LAG_MS && Date.now() - st.mtimeMs < LIST_LAG_MS) continue;
        const key = rel + name.slice(0, -SUFFIX.length);
        if (key.startsWith(prefix)) keys.push(key);
      }
    }
  };
  walk(bucketPath, '');
  return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

FilesystemStore.prototype.listObjects = async function (bucket, options) {
  const {
    delimiter = '',
    startAfter = '',
    prefix = '',
    maxKeys = Infinity,
  } = options;
  const commonPrefixes = new Set();
  const keys = [];
  let isTruncated = false;
  for (const key of collectKeys(this.getBucketPath(bucket), prefix)) {
    if (key <= startAfter) continue;
    let name = key;
    if (delimiter) {
      const idx = key.slice(prefix.length).indexOf(delimiter);
      if (idx !== -1) name = key.slice(0, prefix.length + idx + delimiter.length);
    }
    if (name !== key && (commonPrefixes.has(name) || name <= startAfter)) {
      continue;
    }
    // as s3rver: max-keys counts objects (its paging markers are keys)
    if (name === key && keys.length >= maxKeys) {
      isTruncated = true;
      break;
    }
    if (name !== key) commonPrefixes.add(name);
    else keys.push(key);
  }
  const metadata = await Promise.all(
    keys.map(key =>
      this.getMetadata(bucket, key).catch(err => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      }),
    ),
  );
  return {
    objects: keys
      .map((key, i) => [key, metadata[i]])
      .filter(([, m]) => m !== undefined)
      .map(([key, m]) => new S3Object(bucket, key, null, m)),
    commonPrefixes: [...commonPrefixes].sort(),
    isTruncated,
  };
};

const SECRETS = { S3RVER: 'S3RVER' };

// RFC 3986 encoding of everything but A-Za-z0-9-._~ (as SigV4 wants).
function uriEncode(s) {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    c => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch (err) {
    return s;
  }
}

function canonicalRequest(req, signedHeaders) {
  const raw = req.url;
  const q = raw.indexOf('?');
  const rawPath = q === -1 ? raw : raw.slice(0, q);
  const rawQuery = q === -1 ? '' : raw.slice(q + 1);
  const uri = rawPath
    .split('/')
    .map(seg => uriEncode(safeDecode(seg)))
    .join('/');
  const params = rawQuery
    .split('&')
    .filter(p => p !== '')
    .map(p => {
      const eq = p.indexOf('=');
      const name = eq === -1 ? p : p.slice(0, eq);
      const value = eq === -1 ? '' : p.slice(eq + 1);
      return [uriEncode(safeDecode(name)), uriEncode(safeDecode(value))];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([n, v]) => n + '=' + v)
    .join('&');
  const headers = signedHeaders
    .map(h => {
      const v = req.headers[h];
      const val = Array.isArray(v) ? v.join(',') : v === undefined ? '' : v;
      return h + ':' + String(val).trim().replace(/[ \t]+/g, ' ') + '\n';
    })
    .join('');
  return [
    req.method,
    uri,
    params,
    headers,
    signedHeaders.join(';'),
    req.headers['x-amz-content-sha256'] || 'UNSIGNED-PAYLOAD',
  ].join('\n');
}

const hmac = (key, s) => crypto.createHmac('sha256', key).update(s).digest();
const sha256 = s => crypto.createHash('sha256').update(s).digest('hex');

async function verifySigV4(ctx, next) {
  const auth = ctx.req.headers['authorization'] || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
    auth,
  );
  if (!m || !(m[1] in SECRETS)) return next(); // s3rver's own checks
  const [, akid, date, region, service, signed, signature] = m;
  const creq = canonicalRequest(ctx.req, signed.split(';'));
  const amzDate = ctx.req.headers['x-amz-date'] || '';
  const scope = [date, region, service, 'aws4_request'].join('/');
  const sts = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(creq)].join('\n');
  let key = hmac('AWS4' + SECRETS[akid], date);
  key = hmac(hmac(hmac(key, region), service), 'aws4_request');
  const want = hmac(key, sts).toString('hex');
  if (want !== signature) {
    const S3Error = require(path.join(root, 'lib/models/error'));
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature ' +
        'you provided. Check your key and signing method.',
      { AWSAccessKeyId: akid, CanonicalRequest: creq },
    );
  }
  return next();
}

// S3RVER_NO_V2=1 / S3RVER_NO_MULTI_DELETE=1: behave like the stores that
// lack ListObjectsV2 / DeleteObjects (501 NotImplemented), so the
// clients' fallbacks can be tested.
async function missingFeatures(ctx, next) {
  const q = ctx.query;
  const lacks =
    (process.env.S3RVER_NO_V2 === '1' && ctx.method === 'GET' && q['list-type'] === '2') ||
    (process.env.S3RVER_NO_MULTI_DELETE === '1' && ctx.method === 'POST' && 'delete' in q);
  if (lacks) {
    ctx.status = 501;
    ctx.type = 'application/xml';
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code>' +
      '<Message>A header you provided implies functionality that is not ' +
      'implemented</Message><RequestId>0</RequestId></Error>';
    return;
  }
  return next();
}

// S3RVER_REQUEST_LOG=FILE: one line per request, "MS METHOD URL" and
// then every x-amz-server-side-encryption* header as NAME=VALUE, for
// counting requests (make bench) and checking what reached the server.
const requestLog = process.env.S3RVER_REQUEST_LOG
  ? fs.openSync(process.env.S3RVER_REQUEST_LOG, 'a')
  : null;
async function logRequest(ctx, next) {
  if (requestLog !== null) {
    const sse = Object.entries(ctx.req.headers)
      .filter(([k]) => k.startsWith('x-amz-server-side-encryption'))
      .map(([k, v]) => ' ' + k + '=' + v)
      .join('');
    fs.writeSync(requestLog, `${Date.now()} ${ctx.method} ${ctx.url}${sse}\n`);
  }
  return next();
}

// S3RVER_HEADER_LOG=FILE: one JSON line per request with its method, URL,
// server-side encryption headers and the headers its signature covers, so
// a test can check what a client sent.
async function logHeaders(ctx, next) {
  const file = process.env.S3RVER_HEADER_LOG;
  if (file) {
    const h = ctx.req.headers;
    const m = /SignedHeaders=([^,]+)/.exec(h['authorization'] || '');
    fs.appendFileSync(
      file,
      JSON.stringify({
        method: ctx.method,
        url: ctx.url,
        sse: h['x-amz-server-side-encryption'] || null,
        kms: h['x-amz-server-side-encryption-aws-kms-key-id'] || null,
        signed: m ? m[1].split(';') : [],
      }) + '\n',
    );
  }
  return next();
}

const [port, dir, ...buckets] = process.argv.slice(2);
if (!port || !dir) {
  console.error('usage: node s3rver.js PORT DIR [BUCKET...]');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory: dir,
  silent: false,
  configureBuckets: buckets.map(name => ({ name })),
});
server.middleware.unshift(logRequest, logHeaders, verifySigV4, missingFeatures);
server
  .run()
  .then(() => console.log('ready'))
  .catch(err => {
    console.error(err);
    process.exit(1);
  });
