// Upgrade edge cases: an idle tunnel is closed on both sides, and an upgrade the backend declines
// with a chunked answer reaches the client with the same body, framed, on a connection that
// then carries ordinary requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { cluster, putRoutes, startProxy, table, type TestBackend } from './testkit.js';
import { rawWebBehindProxy } from './raw-testkit.js';
import { closed, handshake, readBytes, startEchoBackend } from './upgrade-testkit.js';

test('a tunnel with no bytes either way for the idle timeout is closed on both sides; traffic keeps it open', async (t) => {
  const b = await startEchoBackend('web-v001-1');
  const p = await startProxy(undefined, { tunnelIdleTimeoutMs: 400 });
  t.after(async () => {
    await p.stop();
    await b.kill();
  });
  const bs = [b] as unknown as TestBackend[];
  assert.equal((await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': bs })))).status, 200);

  const h = await handshake(p.port, 'web.test');
  assert.equal(h.status, 101);
  await readBytes(h.socket, 'web-v001-1\n'.length, h.rest);
  // Bytes every 150 ms for 1.2 s (three idle timeouts): the tunnel stays open.
  for (let i = 0; i < 8; i++) {
    const back = readBytes(h.socket, 1);
    h.socket.write('x');
    assert.equal((await back).toString(), 'x');
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.equal(b.openSockets(), 1);
  // Then silence: the proxy closes the client's connection and its own to the backend.
  await closed(h.socket);
  const deadline = Date.now() + 5000;
  while (b.openSockets() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(b.openSockets(), 0, 'the backend side of the tunnel is closed too');
});

/** Reads one HTTP/1.1 response from `socket` whose body is chunked; returns head and de-chunked body. */
function readChunkedResponse(socket: net.Socket): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1 || !buf.includes('\r\n0\r\n\r\n', end)) return;
      socket.off('data', onData);
      const head = buf.slice(0, end);
      let rest = buf.slice(end + 4);
      let body = '';
      for (;;) {
        const nl = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, nl), 16);
        if (size === 0) break;
        body += rest.slice(nl + 2, nl + 2 + size);
        rest = rest.slice(nl + 2 + size + 2);
      }
      resolve({ head, body });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before a complete chunked response: ${JSON.stringify(buf)}`)));
  });
}

test('a declined upgrade answered chunked reaches the client chunked, and the connection carries the next request', async (t) => {
  const { b, p } = await rawWebBehindProxy(t, (r) =>
    r.headers.some((h) => /^upgrade:/i.test(h))
      ? 'HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nno web\r\n7\r\nsockets\r\n0\r\n\r\n'
      : 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain',
  );

  const socket = net.connect(p.port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.write('GET /ws HTTP/1.1\r\nHost: web.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  const declined = await readChunkedResponse(socket);
  assert.match(declined.head, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
  assert.match(declined.head, /\r\nTransfer-Encoding: chunked(\r\n|$)/i);
  assert.doesNotMatch(declined.head, /\r\nConnection: close/i);
  assert.equal(declined.body, 'no websockets');

  // The same connection now takes an ordinary request.
  const next = new Promise<string>((resolve) => {
    let out = '';
    socket.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.endsWith('plain')) resolve(out);
    });
  });
  socket.write('GET /after HTTP/1.1\r\nHost: web.test\r\n\r\n');
  assert.match(await next, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nplain$/);
  assert.deepEqual(b.requests.map((r) => r.line), ['GET /ws HTTP/1.1', 'GET /after HTTP/1.1']);
});

test('a declined upgrade with a Content-Length keeps it; one of unknown length is ended by closing', async (t) => {
  let mode: 'length' | 'close' = 'length';
  const { p } = await rawWebBehindProxy(t, () =>
    mode === 'length'
      ? 'HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\n\r\nno upgrade'
      : 'HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\nuntil close',
  );

  const h = await handshake(p.port, 'web.test');
  assert.equal(h.status, 403);
  assert.equal(h.headers['content-length'], '10');
  assert.equal(h.headers['connection'], undefined);
  assert.equal((await readBytes(h.socket, 10, h.rest)).toString(), 'no upgrade');
  h.socket.destroy();

  mode = 'close';
  const c = await handshake(p.port, 'web.test', '', '/ws2');
  assert.equal(c.status, 403);
  assert.equal(c.headers['connection'], 'close');
  const chunks: Buffer[] = [c.rest];
  c.socket.on('data', (d: Buffer) => chunks.push(d));
  await closed(c.socket);
  assert.equal(Buffer.concat(chunks).toString(), 'until close');
});
