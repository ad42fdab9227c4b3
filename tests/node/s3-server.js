#!/usr/bin/env node
// The S3-compatible server of the tests: s3rver (npm, pinned in package.json), with the SigV4
// check it lacks. s3rver 3.7.1 checks a V4 request's access key, header shape, date and
// x-amz-content-sha256, but not its signature ("Signature version 4 calculation is
// unimplemented" in its authentication middleware), so the middleware below recomputes every
// header-signed request's signature as AWS does and answers SignatureDoesNotMatch when it
// differs. Kiln's signing is thereby checked on every request the tests send.
//
// Usage: node s3-server.js <data folder>
// Listens on 127.0.0.1, on a free port, and prints "s3rver listening on http://127.0.0.1:<port>"
// on stdout once it accepts connections. Credentials: S3RVER / S3RVER (s3rver's own default
// account). Exits when its parent dies, so a crashed test leaves no server behind. The payload
// hash is signed over but not compared with the body, and query-string (presigned) V4 requests
// get s3rver's own checks only: no test sends one.
'use strict';

const crypto = require('crypto');
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error');

const SECRETS = new Map([['S3RVER', 'S3RVER']]);

// RFC 3986 encoding, as SigV4 wants: encodeURIComponent leaves !'()* alone.
function encode(text) {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    c => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

// Each part is decoded and encoded again, so a client's own encoding choices do not matter,
// only what it means; an undecodable part is taken as it was sent.
function decode(text) {
  try {
    return decodeURIComponent(text);
  } catch (e) {
    return text;
  }
}

function canonicalUri(path) {
  return path.split('/').map(s => encode(decode(s))).join('/') || '/';
}

function canonicalQuery(query) {
  if (!query) return '';
  return query
    .split('&')
    .filter(p => p.length > 0)
    .map(p => {
      const eq = p.indexOf('=');
      const key = eq < 0 ? p : p.slice(0, eq);
      const value = eq < 0 ? '' : p.slice(eq + 1);
      return [encode(decode(key)), encode(decode(value))];
    })
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => k + '=' + v)
    .join('&');
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256(data) {
  return crypto.createHash('sha256').update(data, 'utf8').digest('hex');
}

// Throws SignatureDoesNotMatch unless the Authorization header's signature is the one the
// request's canonical form and the account's secret give.
function verifySigV4(req) {
  const auth = req.headers['authorization'] || '';
  if (!auth.startsWith('AWS4-HMAC-SHA256 ')) return;
  const fields = new Map(
    auth
      .slice('AWS4-HMAC-SHA256 '.length)
      .split(',')
      .map(f => f.trim().split('=')),
  );
  const credential = (fields.get('Credential') || '').split('/');
  const secret = SECRETS.get(credential[0]);
  if (!secret || credential.length !== 5) return;  // s3rver answers InvalidAccessKeyId
  const signed = (fields.get('SignedHeaders') || '').split(';');
  const [path, query] = req.url.split(/\?(.*)/s);
  const headers = signed.map(name => {
    const value = req.headers[name] === undefined ? '' : String(req.headers[name]);
    return name + ':' + value.trim().replace(/\s+/g, ' ') + '\n';
  });
  const canonical = [
    req.method,
    canonicalUri(path),
    canonicalQuery(query),
    headers.join(''),
    signed.join(';'),
    req.headers['x-amz-content-sha256'] || sha256(''),
  ].join('\n');
  const scope = credential.slice(1).join('/');
  const toSign = ['AWS4-HMAC-SHA256', req.headers['x-amz-date'] || '', scope, sha256(canonical)]
    .join('\n');
  let key = 'AWS4' + secret;
  for (const part of credential.slice(1)) key = hmac(key, part);
  const expected = hmac(key, toSign).toString('hex');
  if (expected !== fields.get('Signature')) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your key and signing method.',
      { CanonicalRequest: canonical, StringToSign: toSign },
    );
  }
}

async function main() {
  const directory = process.argv[2];
  if (!directory) {
    process.stderr.write('usage: s3-server.js <data folder>\n');
    process.exit(2);
  }
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  // First in the chain, so s3rver's error handler turns the throw into S3's XML error.
  server.middleware.unshift(async (ctx, next) => {
    verifySigV4(ctx.req);
    return next();
  });
  process.stdout.on('error', () => {});  // the reader may close its end after the first line
  const { port } = await server.run();
  process.stdout.write(`s3rver listening on http://127.0.0.1:${port}\n`);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 500);
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
}

main().catch(err => {
  process.stderr.write(`s3-server.js: ${err.stack || err}\n`);
  process.exit(1);
});
