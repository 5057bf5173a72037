// The proxy's own backend client (upstream.ts) against the response shapes real servers send:
// chunked, Content-Length, read-until-close, bodiless statuses, split packets, big bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { cluster, get, putRoutes, startBackend, startProxy, table, type TestBackend } from './testkit.js';

/** A backend written against raw sockets, answering every request head with `reply(head)`. */
async function rawBackend(name: string, reply: (head: string, socket: net.Socket) => void): Promise<{ backend: TestBackend; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) !== -1) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        reply(head, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const backend = { name, port, backend: { server: name, host: '127.0.0.1', port }, hits: 0, seen: [], kill: async () => undefined } as TestBackend;
  return {
    backend,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function withProxy(b: TestBackend, t: { after(fn: () => Promise<void>): void }) {
  const p = await startProxy();
  t.after(() => p.stop());
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [b] })));
  return p;
}

test('responses of every framing arrive intact, and the connection is reused after each', async (t) => {
  const raw = await rawBackend('web-v001-1', (head, socket) => {
    const path = head.split(' ')[1];
    const w = (s: string) => socket.write(s);
    if (path === '/chunked') {
      // Chunk sizes, data and terminators split across writes, plus a trailer.
      w('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Path: chunked\r\n\r\n5\r');
      setTimeout(() => w('\nhello\r\n6\r\n world\r'), 5);
      setTimeout(() => w('\n0\r\nX-Trailer: 1\r\n\r\n'), 10);
    } else if (path === '/split') {
      w('HTTP/1.1 200 OK\r\nContent-Le');
      setTimeout(() => w('ngth: 10\r\n\r\n01234'), 5);
      setTimeout(() => w('56789'), 10);
    } else if (path === '/continue') {
      w('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
    } else if (path === '/empty') {
      w('HTTP/1.1 204 No Content\r\nX-Path: empty\r\n\r\n');
    } else if (path === '/close') {
      // No length: the body runs until the backend closes the connection.
      w('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close');
      setTimeout(() => socket.end(), 5);
    } else {
      w(`HTTP/1.1 200 OK\r\nContent-Length: ${path!.length}\r\n\r\n${path}`);
    }
  });
  t.after(() => raw.close());
  const p = await withProxy(raw.backend, t);

  const chunked = await get(p.port, 'web.test', '/chunked');
  assert.equal(chunked.status, 200);
  assert.equal(chunked.body, 'hello world');
  assert.equal(chunked.headers['x-path'], 'chunked');
  assert.equal((await get(p.port, 'web.test', '/split')).body, '0123456789');
  const cont = await get(p.port, 'web.test', '/continue');
  assert.equal(cont.status, 201);
  assert.equal(cont.body, 'ok');
  const empty = await get(p.port, 'web.test', '/empty');
  assert.equal(empty.status, 204);
  assert.equal(empty.headers['x-path'], 'empty');
  assert.equal((await get(p.port, 'web.test', '/close')).body, 'until close');
  assert.equal((await get(p.port, 'web.test', '/after')).body, '/after');
  const head = await get(p.port, 'web.test', '/headpath', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '9');
  assert.equal(head.body, '');
  assert.equal((await get(p.port, 'web.test', '/last')).body, '/last');
});

test('a large response streams through with backpressure, and a chunked request body arrives whole', async (t) => {
  const big = Buffer.alloc(8 * 1024 * 1024, 'k');
  const b = await startBackend('web-v001-1', (req, res) => {
    if (req.method === 'POST') {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(`got ${n} ${req.headers['transfer-encoding'] ?? 'no-te'}`));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(big);
  });
  t.after(() => b.kill());
  const p = await withProxy(b, t);
  const r = await get(p.port, 'web.test', '/big');
  assert.equal(r.body.length, big.length);

  // A body without Content-Length goes to the backend chunked.
  const http = await import('node:http');
  const reply = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: p.port, method: 'POST', path: '/up', headers: { Host: 'web.test' }, agent: false }, (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve(s));
    });
    req.on('error', reject);
    req.write('a'.repeat(1000));
    setTimeout(() => req.end('b'.repeat(500)), 10);
  });
  assert.equal(reply, 'got 1500 chunked');
});

test('a backend that sends garbage gets a 502, not a crash', async (t) => {
  const raw = await rawBackend('web-v001-1', (_head, socket) => {
    socket.write('SPDY/9 banana\r\n\r\n');
  });
  t.after(() => raw.close());
  const p = await withProxy(raw.backend, t);
  const r = await get(p.port, 'web.test', '/', { method: 'POST', body: 'x' });
  assert.equal(r.status, 502);
  assert.match(r.body, /bad response/);
});

test('a response head Node will not send on (a bare LF in a value) is a 502, and the proxy keeps serving', async (t) => {
  const raw = await rawBackend('web-v001-1', (head, socket) => {
    if (head.startsWith('GET /bad ')) socket.write('HTTP/1.1 200 OK\r\nX-Split: a\nSet-Cookie: injected=1\r\nContent-Length: 2\r\n\r\nok');
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  t.after(() => raw.close());
  const p = await withProxy(raw.backend, t);
  const bad = await get(p.port, 'web.test', '/bad');
  assert.equal(bad.status, 502);
  assert.match(bad.body, /unusable head/);
  assert.equal(bad.headers['set-cookie'], undefined);
  assert.equal((await get(p.port, 'web.test', '/good')).body, 'ok');
});
