// Helpers for the upgrade (WebSocket) tests and bench: a backend that accepts upgrades and echoes
// raw bytes, and a client that writes the handshake by hand (Node 20 has no WebSocket client,
// and a byte echo is all the proxy can see of any upgraded protocol). Not a test file itself.
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Backend } from './routes.js';

export interface EchoBackend {
  name: string;
  port: number;
  backend: Backend;
  /** Upgrade request heads received, newest last. */
  seen: http.IncomingHttpHeaders[];
  /** Raw header lists of the same requests. */
  rawSeen: string[][];
  /** Sockets currently open to this backend (any kind). */
  openSockets(): number;
  /** Stops listening and destroys every open connection, like a killed process. */
  kill(): Promise<void>;
}

/**
 * How the backend answers an upgrade: 'echo' (101, then every byte back, after a greeting line
 * sent in the same write as the head), 'reset' (destroys the socket), 'close' (ends it without
 * an answer), 'refuse-403' (an ordinary 403 with a body), 'hang' (never answers).
 */
export type EchoMode = 'echo' | 'reset' | 'close' | 'refuse-403' | 'hang';

export async function startEchoBackend(name: string, mode: EchoMode = 'echo'): Promise<EchoBackend> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(name);
  });
  const b: EchoBackend = {
    name,
    port: 0,
    backend: { server: name, host: '127.0.0.1', port: 0 },
    seen: [],
    rawSeen: [],
    openSockets: () => sockets.size,
    kill: async () => {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    b.seen.push(req.headers);
    b.rawSeen.push(req.rawHeaders);
    socket.on('error', () => socket.destroy());
    if (mode === 'reset') return void socket.resetAndDestroy();
    if (mode === 'close') return void socket.end();
    // Never answers, but reads, so it notices the proxy closing the connection (as a real server would).
    if (mode === 'hang') {
      socket.on('end', () => socket.destroy());
      socket.resume();
      return;
    }
    if (mode === 'refuse-403') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nno upgrade');
      return;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: accept-${String(req.headers['sec-websocket-key'])}\r\nX-Backend: ${name}\r\n\r\n${name}\n`,
    );
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  b.port = (server.address() as AddressInfo).port;
  b.backend = { server: name, host: '127.0.0.1', port: b.port };
  return b;
}

export interface Handshake {
  status: number;
  /** Lower-cased response header names to values (last one wins). */
  headers: Record<string, string>;
  /** Bytes that came after the response head (tunnel bytes, or the body of a refusal). */
  rest: Buffer;
  socket: net.Socket;
}

/** Opens a connection and sends an upgrade request; resolves once the response head has arrived. */
export function handshake(port: number, host: string, extraHeaders = '', path = '/ws'): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.off('error', reject);
      socket.pause();
      const lines = buf.toString('latin1', 0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':');
        headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
      }
      resolve({ status: Number(lines[0]!.split(' ')[1]), headers, rest: buf.subarray(end + 4), socket });
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed before a response head (${buf.length} bytes)`)));
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Key: k${Math.random().toString(36).slice(2)}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
    );
  });
}

/** Reads from a paused socket until `n` bytes have arrived (after `already`). */
export function readBytes(socket: net.Socket, n: number, already: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [already];
    let have = already.length;
    const done = (err?: Error) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      socket.pause();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (d: Buffer) => {
      chunks.push(d);
      have += d.length;
      if (have >= n) done();
    };
    const onClose = () => done(new Error(`closed after ${have} of ${n} bytes`));
    if (have >= n) return done();
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onClose);
    socket.resume();
  });
}

/** Resolves when the socket has closed (the peer went away). */
export function closed(socket: net.Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.on('error', () => {});
    socket.resume();
  });
}
