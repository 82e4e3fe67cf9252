#!/usr/bin/env node
// S3 server for the modelfs end-to-end tests.
//
// Runs the s3rver package (npm @20minutes/s3rver, pinned in package.json):
// every request goes through s3rver's own Koa app, so its routing, Range
// handling and SigV2/SigV4 signature check are the real ones. This launcher
// only adds what the tests need around it:
//   - HTTPS with the test's key and certificate, on 127.0.0.1;
//   - buckets made, and files uploaded through s3rver's own store, at start;
//   - a configurable access key / secret (s3rver's built-in pair is
//     S3RVER / S3RVER);
//   - a rejection of unsigned (anonymous) requests, 403 AccessDenied, as a
//     private bucket on AWS does (s3rver itself serves them);
//   - optionally, a required session token (x-amz-security-token);
//   - a ready file, written once the server is listening;
//   - one log line per request.
//
// Usage: node server.js --dir DIR [options]     (--help lists them)
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const { parseArgs } = require('util');

const USAGE = `usage: node server.js --dir DIR [options]
  --dir DIR            s3rver's data directory (made if missing)
  --host ADDR          address to listen on (default 127.0.0.1)
  --port N             port (default 0: any free port; see --ready)
  --cert PEM --key PEM serve HTTPS with this certificate chain and key
                       (both omitted: plain HTTP)
  --bucket NAME        bucket to make at start (repeatable); the first one
                       receives --upload-from and --put
  --upload-from DIR    upload every regular file under DIR, key = its path
                       relative to DIR (with "/" separators)
  --prefix P           prepend P to the keys of --upload-from (e.g. "models/")
  --put KEY=FILE       upload FILE as KEY (repeatable)
  --access-key ID      the one accepted access key id (default S3RVER)
  --secret-key S       its secret (default S3RVER)
  --session-token T    require header x-amz-security-token: T, signed
  --allow-anonymous    let unsigned requests through to s3rver (it serves them)
  --service-endpoint H virtual-hosted style for BUCKET.s3.H (default localhost)
  --ready FILE         write the port number to FILE once listening
  --log FILE           append one line per request to FILE
  --silent             silence s3rver's own console log
Log line: METHOD URL STATUS err=CODE auth=sigv4|sigv2|presigned|none ak=ID
          token=yes|no range=R len=N host=H   ("-" where absent)`;

function fail(msg) {
  process.stderr.write(`server.js: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      dir: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      cert: { type: 'string' },
      key: { type: 'string' },
      bucket: { type: 'string', multiple: true, default: [] },
      'upload-from': { type: 'string' },
      prefix: { type: 'string', default: '' },
      put: { type: 'string', multiple: true, default: [] },
      'access-key': { type: 'string', default: 'S3RVER' },
      'secret-key': { type: 'string', default: 'S3RVER' },
      'session-token': { type: 'string' },
      'allow-anonymous': { type: 'boolean', default: false },
      'service-endpoint': { type: 'string', default: 'localhost' },
      ready: { type: 'string' },
      log: { type: 'string' },
      silent: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (err) {
  fail(err.message);
}
if (args.help) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
if (!args.dir) fail('--dir is required');
if (!/^\d+$/.test(args.port) || Number(args.port) > 65535) {
  fail(`bad --port: ${args.port}`);
}
if (Boolean(args.cert) !== Boolean(args.key)) {
  fail('--cert and --key go together');
}
if ((args['upload-from'] || args.put.length) && !args.bucket.length) {
  fail('--upload-from and --put need a --bucket');
}

const S3rver = require('@20minutes/s3rver');
// s3rver has no option for credentials: its accepted key pairs live in this
// registry (lib/models/account.js), pre-filled with S3RVER / S3RVER.
const AWSAccount = require('@20minutes/s3rver/lib/models/account');
const S3Object = require('@20minutes/s3rver/lib/models/object');
const S3Error = require('@20minutes/s3rver/lib/models/error');

const accessKey = args['access-key'];
const secretKey = args['secret-key'];
for (const id of [...AWSAccount.registry.keys()]) {
  AWSAccount.registry.get(id).revokeAccessKey(id);
}
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);

fs.mkdirSync(args.dir, { recursive: true });
const app = new S3rver({
  directory: path.resolve(args.dir),
  silent: args.silent,
  serviceEndpoint: args['service-endpoint'],
  vhostBuckets: true,
  configureBuckets: args.bucket.map((name) => ({ name })),
});

// ---- per-request log -------------------------------------------------------

let logFd = null;
if (args.log) logFd = fs.openSync(args.log, 'a');

function field(v) {
  if (v === undefined || v === null || v === '') return '-';
  return String(v).replace(/\s+/g, '');
}

function authKind(req, url) {
  const a = req.headers.authorization;
  if (a) {
    if (/^AWS4-HMAC-SHA256 /i.test(a)) return 'sigv4';
    if (/^AWS /i.test(a)) return 'sigv2';
    return 'other';
  }
  if (url.searchParams.has('X-Amz-Algorithm')) return 'presigned';
  if (url.searchParams.has('Signature')) return 'presigned-v2';
  return 'none';
}

function accessKeyOf(req, url) {
  const a = req.headers.authorization || '';
  let m = /Credential=([^/,\s]+)/.exec(a);
  if (m) return m[1];
  m = /^AWS ([^:]+):/.exec(a);
  if (m) return m[1];
  const c = url.searchParams.get('X-Amz-Credential');
  if (c) return c.split('/')[0];
  return url.searchParams.get('AWSAccessKeyId');
}

// Written synchronously when the response head goes out, before any byte of
// it reaches the client: a test that reads the log after its request has
// returned always finds the line.
function logRequest(req, res, st, status) {
  if (st.logged) return;
  st.logged = true;
  if (logFd === null) return;
  const line = [
    req.method,
    field(st.url),
    status,
    `err=${field(st.errCode)}`,
    `auth=${st.auth}`,
    `ak=${field(st.ak)}`,
    `token=${req.headers['x-amz-security-token'] ? 'yes' : 'no'}`,
    `range=${field(req.headers.range)}`,
    `len=${field(res.getHeader('content-length'))}`,
    `host=${field(req.headers.host)}`,
  ].join(' ');
  try {
    fs.writeSync(logFd, line + '\n');
  } catch (err) {
    process.stderr.write(`server.js: log write failed: ${err.message}\n`);
  }
}

// ---- request handling --------------------------------------------------------

function reject(res, err) {
  const body = err.toXML();
  res.statusCode = err.status;
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

// Checks s3rver does not make; null when the request may go on to s3rver.
function precheck(req, url, st) {
  if (st.auth === 'none' && !args['allow-anonymous'] && req.method !== 'OPTIONS') {
    return new S3Error('AccessDenied', 'Access Denied');
  }
  const want = args['session-token'];
  if (want !== undefined && st.auth !== 'none') {
    const got =
      req.headers['x-amz-security-token'] ??
      url.searchParams.get('X-Amz-Security-Token');
    if (got === undefined || got === null) {
      return new S3Error(
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
        { AWSAccessKeyId: st.ak || '' },
      );
    }
    if (got !== want) {
      return new S3Error(
        'InvalidToken',
        'The provided token is malformed or otherwise invalid.',
      );
    }
    if (st.auth === 'sigv4') {
      const m = /SignedHeaders=([^,\s]+)/.exec(req.headers.authorization);
      const signed = m ? m[1].toLowerCase().split(';') : [];
      if (!signed.includes('x-amz-security-token')) {
        return new S3Error(
          'AccessDenied',
          'There were headers present in the request which were not signed',
          { HeadersNotSigned: 'x-amz-security-token' },
        );
      }
    }
  }
  return null;
}

const s3handler = app.callback();

function onRequest(req, res) {
  let url;
  try {
    url = new URL(req.url, 'http://x');
  } catch {
    url = new URL('http://x/');
  }
  // s3rver rewrites req.url for virtual-hosted requests: log what was sent
  const st = { logged: false, errCode: null, url: req.url };
  st.auth = authKind(req, url);
  st.ak = accessKeyOf(req, url);

  // Pick the S3 error code out of an error body sent in one piece (as
  // s3rver's error handler does), then log as the head is written.
  const origEnd = res.end;
  res.end = function (chunk, ...rest) {
    if (res.statusCode >= 400 && chunk && !res.headersSent) {
      const m = /<Code>([^<]*)<\/Code>/.exec(chunk.toString());
      if (m) st.errCode = m[1];
    }
    return origEnd.call(this, chunk, ...rest);
  };
  const origWriteHead = res.writeHead;
  res.writeHead = function (status, ...rest) {
    // headers passed to writeHead itself are not set yet: take the length
    // from them when present
    const hdrs = rest.find((r) => r && typeof r === 'object');
    if (hdrs && !res.getHeader('content-length')) {
      for (const [k, v] of Object.entries(hdrs)) {
        if (k.toLowerCase() === 'content-length') res.setHeader(k, v);
      }
    }
    logRequest(req, res, st, status);
    return origWriteHead.call(this, status, ...rest);
  };
  res.on('close', () => logRequest(req, res, st, res.headersSent ? res.statusCode : 'aborted'));

  const err = precheck(req, url, st);
  if (err) {
    st.errCode = err.code;
    reject(res, err);
    return;
  }
  s3handler(req, res);
}

// ---- start -----------------------------------------------------------------

function walkFiles(root) {
  const out = [];
  const visit = (dir) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      const stat = fs.statSync(p); // follows symlinks
      if (stat.isDirectory()) visit(p);
      else if (stat.isFile()) out.push(p);
    }
  };
  visit(root);
  return out.sort();
}

async function upload(bucket, key, file) {
  // s3rver's own store, as its PUT Object handler uses it: the object, its
  // MD5 (the ETag) and its metadata are written in s3rver's layout.
  const object = new S3Object(bucket, key, fs.createReadStream(file), {
    'content-type': 'application/octet-stream',
  });
  await app.store.putObject(object);
}

async function main() {
  await app.configureBuckets();
  const bucket = args.bucket[0];
  let count = 0;
  if (args['upload-from']) {
    const root = path.resolve(args['upload-from']);
    for (const file of walkFiles(root)) {
      const rel = path.relative(root, file).split(path.sep).join('/');
      await upload(bucket, args.prefix + rel, file);
      count++;
    }
  }
  for (const spec of args.put) {
    const eq = spec.indexOf('=');
    if (eq <= 0) fail(`bad --put (want KEY=FILE): ${spec}`);
    await upload(bucket, spec.slice(0, eq), spec.slice(eq + 1));
    count++;
  }

  const server = args.cert
    ? https.createServer(
        { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) },
        onRequest,
      )
    : http.createServer(onRequest);
  // A test that kills a client mid-body must not leave the server waiting.
  server.on('clientError', (err, socket) => socket.destroy());

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(args.port), args.host, resolve);
  });
  const { port } = server.address();
  const scheme = args.cert ? 'https' : 'http';
  process.stdout.write(
    `s3 server listening on ${scheme}://${args.host}:${port} ` +
      `buckets=${args.bucket.join(',') || '-'} objects=${count} ` +
      `access-key=${accessKey}\n`,
  );
  if (args.ready) {
    const tmp = `${args.ready}.tmp${process.pid}`;
    fs.writeFileSync(tmp, `${port}\n`);
    fs.renameSync(tmp, args.ready);
  }

  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`server.js: ${err.stack || err}\n`);
  process.exit(1);
});
