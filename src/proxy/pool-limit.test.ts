// The upstream pool against backends that close keep-alive connections after N requests
// (nginx's keepalive_requests, an app server's max-requests) without saying so in the last
// answer: the pool learns the limit and retires connections before it, and a request goes to a
// fresh connection only when sending it again cannot duplicate it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { cluster, putRoutes, startBackend, startProxy, table, get, type TestBackend } from './testkit.js';

/** A backend that drops every connection, unanswered, when its (N+1)th request head arrives. */
async function closesAfter(n: number) {
  const served = new WeakMap<object, number>();
  const bodies: string[] = [];
  const b = await startBackend('web-v001-1', (req, res) => {
    const k = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, k);
    if (k > n) {
      req.socket.destroy();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      if (req.method === 'POST') bodies.push(body);
      res.end(`ok ${body}`);
    });
  });
  return { b, bodies };
}

test('a backend closing connections after N requests: once one closed, requests with bodies never land on a doomed connection', async (t) => {
  const { b, bodies } = await closesAfter(3);
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await b.kill();
  });
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [b] })));
  // The fourth GET meets the first closed connection and is retried on a fresh one.
  for (let i = 0; i < 4; i++) assert.equal((await get(p.port, 'web.test', '/')).status, 200);
  // A POST's body cannot be sent twice: each must go on a connection below the limit.
  for (let i = 0; i < 12; i++) {
    const r = await get(p.port, 'web.test', '/', { method: 'POST', body: `order=${i}` });
    assert.equal(r.status, 200, `POST ${i}: ${r.body}`);
    assert.equal(r.body, `ok order=${i}`);
  }
  assert.deepEqual(bodies, Array.from({ length: 12 }, (_, i) => `order=${i}`), 'every order reached the backend exactly once');
});

test('a request whose body had not started when its reused connection closed goes to a fresh connection', async (t) => {
  const { b, bodies } = await closesAfter(1);
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await b.kill();
  });
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [b] })));
  assert.equal((await get(p.port, 'web.test', '/')).status, 200);
  // The head now, the body later: the pooled connection is dropped when the head arrives, before
  // any byte of the body was taken from the client, so the backend never had the whole request.
  const socket = net.connect(p.port, '127.0.0.1');
  t.after(() => socket.destroy());
  let answer = '';
  socket.setEncoding('latin1');
  // The whole answer: its head and as many body bytes as its Content-Length says.
  const answered = new Promise<void>((resolve) => {
    socket.on('data', (d: string) => {
      answer += d;
      const end = answer.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(answer.slice(0, end));
      if (end !== -1 && length !== null && answer.length - end - 4 >= Number(length[1])) resolve();
    });
    socket.once('close', () => resolve());
  });
  socket.write('POST /orders HTTP/1.1\r\nHost: web.test\r\nContent-Length: 7\r\n\r\n');
  await new Promise((r) => setTimeout(r, 200));
  socket.write('order=9');
  await answered;
  assert.match(answer, /^HTTP\/1\.1 200 /);
  assert.match(answer, /\r\n\r\nok order=9$/);
  assert.deepEqual(bodies, ['order=9']);
});

test('a client that gives up mid-request teaches the pool nothing: the next requests still share one connection', async (t) => {
  let connections = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/slow') setTimeout(() => res.end('slow'), 500);
    else res.end('fast');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const b: TestBackend = { name: 'web-v001-1', port, backend: { server: 'web-v001-1', host: '127.0.0.1', port }, hits: 0, seen: [], kill: async () => undefined };
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [b] })));
  assert.equal((await get(p.port, 'web.test', '/')).body, 'fast');
  // The slow request goes on the pooled connection; its client leaves before the answer, so the
  // proxy cuts that connection itself.
  const gone = http.get({ host: '127.0.0.1', port: p.port, path: '/slow', headers: { Host: 'web.test' }, agent: false });
  gone.on('error', () => undefined);
  await new Promise((r) => setTimeout(r, 100));
  gone.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const before = connections;
  for (let i = 0; i < 5; i++) assert.equal((await get(p.port, 'web.test', '/')).body, 'fast');
  assert.equal(connections - before, 1, 'five requests after the abort share one new connection');
});
