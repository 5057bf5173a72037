// A backend's answer to an upgrade is written to the client as raw bytes (tunnel.ts), not by
// Node's HTTP server, which refuses control characters in headers: so the proxy checks them
// itself. A bare LF (or CR, NUL) in a header of a declined upgrade or of a 101 would otherwise
// split the response the client reads — a header or a whole response the backend smuggled in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { cluster, putRoutes, startProxy, table } from './testkit.js';

/** A backend that answers every upgrade request with `answer`, raw. */
async function rawBackend(answer: string): Promise<{ backend: { server: string; host: string; port: number }; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.once('data', () => s.write(answer));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    backend: { server: 'raw-v001-1', host: '127.0.0.1', port: (server.address() as AddressInfo).port },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Everything the client receives for one upgrade request, until the proxy closes or 1 s passes. */
function upgradeAnswer(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (): void => {
      s.destroy();
      resolve(got);
    };
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('close', done);
    s.on('error', done);
    setTimeout(done, 1000);
    s.write('GET /ws HTTP/1.1\r\nHost: raw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n');
  });
}

for (const [what, answer] of [
  ['a declined upgrade (200)', 'HTTP/1.1 200 OK\r\nX-A: one\nSet-Cookie: injected=1\r\nContent-Length: 2\r\n\r\nok'],
  ['a 101', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-A: one\nSet-Cookie: injected=1\r\n\r\n'],
  ['a declined upgrade with a NUL', 'HTTP/1.1 200 OK\r\nX-A: one\0two\r\nContent-Length: 2\r\n\r\nok'],
  ['a declined upgrade whose reason phrase', 'HTTP/1.1 200 OK\nSet-Cookie: injected=1\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok'],
] as const) {
  test(`${what} whose header has a control character is answered 502; nothing of it reaches the client`, async (t) => {
    const b = await rawBackend(answer);
    const p = await startProxy();
    t.after(async () => {
      await p.stop();
      await b.close();
    });
    assert.equal((await putRoutes(p, table(1, { ...cluster('raw', 'raw-v001', {}), groups: [{ name: 'raw-v001', hosts: ['raw-v001.test'], backends: [b.backend] }] }))).status, 200);
    const got = await upgradeAnswer(p.port);
    assert.match(got, /^HTTP\/1\.1 502 /);
    assert.doesNotMatch(got, /injected=1|^X-A:|\0/im);
  });
}
