// Regression tests for issue 11, defect 1: a client used `Connection:` to make the proxy drop the
// framing of its own request (Content-Length), Host, or the X-Forwarded-* the proxy adds, while
// the body was still streamed. The backend then read the body as a second request, and its answer
// went to the next client that used the same pooled upstream connection. Sent through the public
// listener and a cluster port (the service-to-service load balancer), as raw bytes to a backend
// that records and parses what it got the way a lenient server would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { cluster, freePort, putRoutes, startProxy, table, type TestBackend } from './testkit.js';
import { rawExchange, startRawBackend, type RawRequest } from './raw-testkit.js';

/** The backend names the request it answers, so a response delivered to the wrong client shows. */
const echoLine = (r: RawRequest): string => {
  const body = `answer to ${r.line}`;
  return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
};

const SMUGGLED = 'POST /orders HTTP/1.1\r\nHost: web.test\r\nContent-Length: 0\r\n\r\n';
const ATTACK =
  'GET /items HTTP/1.1\r\nHost: web.test\r\nConnection: keep-alive, Content-Length\r\n' +
  `Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`;

/** Sends `bytes` on a kept-alive connection and resolves with the first complete response. */
function keepAliveExchange(port: number, bytes: string): Promise<{ reply: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      const end = out.indexOf('\r\n\r\n');
      if (end === -1) return;
      const cl = /\r\ncontent-length: *(\d+)/i.exec(out.slice(0, end + 2));
      if (cl && out.length >= end + 4 + Number(cl[1])) resolve({ reply: out, socket: s });
    });
    s.write(bytes, 'latin1');
  });
}

for (const via of ['the public listener', 'a cluster port'] as const) {
  test(`issue 11 defect 1: "Connection: Content-Length" smuggles no request through ${via}`, async (t) => {
    const b = await startRawBackend(echoLine);
    const p = await startProxy();
    t.after(async () => {
      await p.stop();
      await b.close();
    });
    const clusterPort = await freePort();
    const web = cluster('web', 'web-v001', { 'web-v001': [b] as unknown as TestBackend[] }, clusterPort);
    assert.equal((await putRoutes(p, table(1, web))).status, 200);
    const port = via === 'a cluster port' ? clusterPort : p.port;

    const attacker = await keepAliveExchange(port, ATTACK);
    t.after(() => attacker.socket.destroy());
    assert.match(attacker.reply, /^HTTP\/1\.1 200 /);
    assert.match(attacker.reply, /answer to GET \/items HTTP\/1\.1$/);
    // Another client's request, which the proxy sends on the same pooled upstream connection.
    const victim = await rawExchange(port, 'GET /account HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n');
    assert.match(victim, /answer to GET \/account HTTP\/1\.1$/, `the other client got ${JSON.stringify(victim)}`);

    // The backend saw the client's one request, framed as the client framed it, and then the other.
    assert.deepEqual(
      b.requests.map((r) => r.line),
      ['GET /items HTTP/1.1', 'GET /account HTTP/1.1'],
    );
    const first = b.requests[0]!;
    assert.equal(first.body, SMUGGLED);
    assert.deepEqual(first.headers.filter((h) => /^content-length:/i.test(h)), [`Content-Length: ${SMUGGLED.length}`]);
  });
}

test('issue 11 defect 1: Connection cannot remove Host or the X-Forwarded-* the proxy sets', async (t) => {
  const b = await startRawBackend();
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await b.close();
  });
  assert.equal((await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [b] as unknown as TestBackend[] })))).status, 200);
  const reply = await rawExchange(
    p.port,
    'GET / HTTP/1.1\r\nHost: web.test\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n' +
      'Connection: close, Host, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, Transfer-Encoding\r\n\r\n',
  );
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.equal(b.requests.length, 1);
  const named = (n: string) => b.requests[0]!.headers.filter((h) => h.toLowerCase().startsWith(n + ':'));
  assert.deepEqual(named('host'), ['Host: web.test']);
  // The client is not a trusted proxy: its own X-Forwarded-For is not passed on as if it were true.
  assert.deepEqual(named('x-forwarded-for'), ['X-Forwarded-For: 127.0.0.1']);
  assert.deepEqual(named('x-forwarded-host'), ['X-Forwarded-Host: web.test']);
  assert.deepEqual(named('x-forwarded-proto'), ['X-Forwarded-Proto: http']);
  assert.deepEqual(named('connection'), []);
});
