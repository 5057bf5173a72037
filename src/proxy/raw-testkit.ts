// A backend for the proxy's hostile-input tests that parses nothing the way Node does: it records
// the exact bytes each connection received and splits them into requests by hand (head, then a
// Content-Length or chunked body), so a test sees what a lenient backend would have acted on,
// smuggled requests included. And a raw client. Not a test file itself.
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import type { Backend } from './routes.js';
import { cluster, putRoutes, startProxy, table, type TestBackend, type TestProxy } from './testkit.js';

export interface RawRequest {
  /** Request line, e.g. "GET /x HTTP/1.1". */
  line: string;
  /** Header lines as received ("Name: value"). */
  headers: string[];
  body: string;
}

export interface RawBackend {
  backend: Backend;
  /** Every request parsed so far, across connections. */
  requests: RawRequest[];
  /** All bytes received, per connection. */
  bytes(): string;
  close(): Promise<void>;
}

/** Answers each request with `answer(request)` (default: 200 "ok" with Content-Length). */
export async function startRawBackend(answer?: (r: RawRequest) => string): Promise<RawBackend> {
  const requests: RawRequest[] = [];
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    const index = received.push('') - 1;
    let buf = '';
    s.on('data', (d: Buffer) => {
      received[index] += d.toString('latin1');
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const lines = buf.slice(0, end).split('\r\n');
        const headers = lines.slice(1);
        const value = (n: string) => headers.find((h) => h.toLowerCase().startsWith(n + ':'))?.slice(n.length + 1).trim();
        let rest = buf.slice(end + 4);
        let body = '';
        const cl = value('content-length');
        if (value('transfer-encoding')?.toLowerCase().endsWith('chunked')) {
          const last = rest.indexOf('0\r\n\r\n');
          if (last === -1) return;
          // De-chunk: size line, data, CRLF, until the zero chunk.
          let p = 0;
          for (;;) {
            const nl = rest.indexOf('\r\n', p);
            const size = parseInt(rest.slice(p, nl), 16);
            if (!(size > 0)) break;
            body += rest.slice(nl + 2, nl + 2 + size);
            p = nl + 2 + size + 2;
          }
          rest = rest.slice(rest.indexOf('0\r\n\r\n', p) + 5);
        } else if (cl !== undefined) {
          const n = Number(cl);
          if (rest.length < n) return;
          body = rest.slice(0, n);
          rest = rest.slice(n);
        }
        buf = rest;
        const r: RawRequest = { line: lines[0]!, headers, body };
        requests.push(r);
        const reply = answer ? answer(r) : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
        // An answer that says Connection: close is delimited by closing, as a real server does.
        if (/\r\nconnection: close\r\n/i.test(reply.slice(0, reply.indexOf('\r\n\r\n') + 2))) return void s.end(reply);
        s.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    backend: { server: 'raw-1', host: '127.0.0.1', port },
    requests,
    bytes: () => received.join(''),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/** Writes `bytes` on a new connection and resolves with all it got back once the proxy closed it
 * (not half-closed first: Node's server drops the pending response of a client that did). */
export function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(out));
    s.write(bytes, 'latin1');
  });
}

/**
 * A recording raw backend as the only server of cluster `web` (host web.test) behind a fresh
 * proxy; both are stopped when the test ends.
 */
export async function rawWebBehindProxy(t: TestContext, answer?: (r: RawRequest) => string): Promise<{ b: RawBackend; p: TestProxy }> {
  const b = await startRawBackend(answer);
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await b.close();
  });
  const bs = [b] as unknown as TestBackend[];
  const res = await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': bs })));
  if (res.status !== 200) throw new Error(`route table refused: ${res.status}`);
  return { b, p };
}
