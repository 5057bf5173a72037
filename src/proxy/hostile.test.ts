// Request smuggling and other hostile heads, sent as raw bytes through a real proxy to a backend
// that records every byte it received and parses leniently: each case is refused with 400 before
// any byte reaches the backend, or reaches it in one normalised form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, putRoutes, startProxy, table, type TestBackend } from './testkit.js';
import { rawExchange, rawWebBehindProxy, startRawBackend } from './raw-testkit.js';

const REFUSED: Record<string, string> = {
  'Content-Length and Transfer-Encoding':
    'POST / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: web.test\r\n\r\n',
  'Transfer-Encoding and Content-Length':
    'POST / HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: web.test\r\n\r\n',
  'two Content-Lengths that differ': 'POST / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 5\r\nContent-Length: 28\r\n\r\nhelloGET /smuggled HTTP/1.1\r\n\r\n',
  'a Content-Length list': 'POST / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 5, 28\r\n\r\nhello',
  'a Content-Length that is not a number': 'POST / HTTP/1.1\r\nHost: web.test\r\nContent-Length: +5\r\n\r\nhello',
  'a Transfer-Encoding that does not end in chunked': 'POST / HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n',
  'a space before the colon': 'POST / HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
  'obs-fold (a folded header line)': 'GET / HTTP/1.1\r\nHost: web.test\r\nX-A: one\r\n Transfer-Encoding: chunked\r\n\r\n',
  'a control character in a value': 'GET / HTTP/1.1\r\nHost: web.test\r\nX-A: b\x01c\r\n\r\n',
  'a space in a header name': 'GET / HTTP/1.1\r\nHost: web.test\r\nBad Name: x\r\n\r\n',
  'bare LF line ends': 'GET / HTTP/1.1\nHost: web.test\nX-A: 1\n\n',
  'two Host headers': 'GET / HTTP/1.1\r\nHost: web.test\r\nHost: admin.test\r\n\r\n',
  'an absolute URI whose host differs from Host': 'GET http://admin.test/secret HTTP/1.1\r\nHost: web.test\r\n\r\n',
  'an absolute URI whose port differs from Host': 'GET http://web.test:8080/ HTTP/1.1\r\nHost: web.test\r\n\r\n',
  'an absolute URI with user information': 'GET http://u@web.test/ HTTP/1.1\r\nHost: web.test\r\n\r\n',
  'a target that is neither a path nor an http URI': 'GET ftp://web.test/ HTTP/1.1\r\nHost: web.test\r\n\r\n',
  'an upgrade on POST': 'POST /ws HTTP/1.1\r\nHost: web.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n',
  'an upgrade on GET with a body': 'GET /ws HTTP/1.1\r\nHost: web.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nabc',
};

test('smuggling and malformed heads get 400 and no byte reaches a backend', async (t) => {
  const b = await startRawBackend();
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await b.close();
  });
  const bs = [b] as unknown as TestBackend[];
  const web = cluster('web', 'web-v001', { 'web-v001': bs });
  const adminCl = cluster('admin', 'admin-v001', { 'admin-v001': bs });
  assert.equal((await putRoutes(p, table(1, web, adminCl))).status, 200);

  for (const [what, bytes] of Object.entries(REFUSED)) {
    const reply = await rawExchange(p.port, bytes);
    assert.match(reply, /^HTTP\/1\.1 400 /, `${what}: ${JSON.stringify(reply.slice(0, 80))}`);
    // One response, then the connection is closed: nothing after the bad head is read as a request.
    assert.equal(reply.match(/HTTP\/1\.1 /g)?.length, 1, `${what}: ${JSON.stringify(reply)}`);
    assert.equal(b.bytes(), '', `${what}: the backend received ${JSON.stringify(b.bytes())}`);
  }
  // The POST upgrade's refusal says why.
  const post = await rawExchange(p.port, REFUSED['an upgrade on POST']!);
  assert.match(post, /an upgrade request must be a GET without a body/);
  const mismatch = await rawExchange(p.port, REFUSED['an absolute URI whose host differs from Host']!);
  assert.match(mismatch, /differs from the request URI's host "admin\.test"/);
  assert.equal(b.bytes(), '');

  // The proxy still serves well-formed requests.
  assert.match(await rawExchange(p.port, 'GET / HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 /);
  assert.equal(b.requests.length, 1);
});

test('an absolute-form request goes to the backend in origin form, routed by its URI host', async (t) => {
  const { b, p } = await rawWebBehindProxy(t);

  const same = await rawExchange(p.port, 'GET HTTP://Web.Test/a/b?q=1 HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n');
  assert.match(same, /^HTTP\/1\.1 200 /);
  // HTTP/1.0 may omit Host: the URI's host routes the request and becomes the Host header.
  const noHost = await rawExchange(p.port, 'GET http://web.test HTTP/1.0\r\n\r\n');
  assert.match(noHost, /^HTTP\/1\.1 200 /);
  assert.deepEqual(
    b.requests.map((r) => [r.line, r.headers.filter((h) => /^host:/i.test(h))]),
    [
      ['GET /a/b?q=1 HTTP/1.1', ['Host: web.test']],
      ['GET / HTTP/1.1', ['Host: web.test']],
    ],
  );
});

test('a chunked body with extensions and trailers reaches the backend as one well-framed request', async (t) => {
  const { b, p } = await rawWebBehindProxy(t);
  const reply = await rawExchange(
    p.port,
    'POST /in HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n',
  );
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.equal(b.requests.length, 1);
  const r = b.requests[0]!;
  assert.equal(r.line, 'POST /in HTTP/1.1');
  assert.equal(r.body, 'hello world');
  // Exactly one framing header: the proxy's own chunked re-framing, no Content-Length.
  assert.deepEqual(r.headers.filter((h) => /^(content-length|transfer-encoding):/i.test(h)), ['Transfer-Encoding: chunked']);
});
