// HTTP Upgrade (WebSocket and the like) through the proxy. The handshake is an ordinary request
// to a backend picked as for any other request (round robin, down backends skipped, refusals
// retried elsewhere); a 101 turns the two connections into a byte pipe, any other answer goes
// back as a normal response. An open tunnel belongs to its server group: it outlives a switch
// (the old group's servers still serve it) and is closed when its group leaves the route table
// or its listener closes, which is when those servers are about to stop.
import type * as http from 'node:http';
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { isRefusal, responseHeaders } from './forward.js';
import { backendHead, type IncomingInfo } from './request-head.js';
import type { BackendTarget, GroupTarget, Router } from './router.js';
import type { Stats } from './stats.js';
import type { Tunnels } from './tunnels.js';
import type { UpstreamConn, UpstreamHandler, UpstreamPool } from './upstream.js';

/** What a client may send after its upgrade request before the backend has answered it. */
const MAX_EARLY_BYTES = 64 * 1024;

/** `resume` gives a connection whose upgrade was declined back to the HTTP server, with the
 * bytes the client sent after its request. */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer, resume?: (pending: Buffer) => void) => void;

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A plain-text answer from the proxy on a raw client socket, which is then closed. */
export function replyRaw(socket: Duplex, status: number, body: string): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const head =
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
  socket.end(head + body);
  (socket as net.Socket).destroySoon?.();
}

// A header name is a token; a value is visible characters, spaces and tabs (RFC 9110 5.5).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CONTROL = /[\0-\x08\x0a-\x1f\x7f]/;

/**
 * The head lines written raw to the client. These bytes do not go through Node's HTTP server,
 * which would refuse a control character: a bare LF in a value would split the response the
 * client reads (a header, or a whole response, smuggled in by the backend). Throws on one.
 */
function headLines(flat: string[]): string {
  let s = '';
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    const value = flat[i + 1]!;
    if (!TOKEN.test(name) || CONTROL.test(value)) throw new Error(`the backend's header ${JSON.stringify(name.slice(0, 64))} has a character a header may not have`);
    s += name + ': ' + value + '\r\n';
  }
  return s;
}

/** The status line, written raw too: a reason phrase with a control character is refused the same way. */
function statusLine(status: number, reason: string): string {
  if (CONTROL.test(reason)) throw new Error(`the backend's reason phrase has a character a status line may not have`);
  return `HTTP/1.1 ${status} ${reason}\r\n`;
}

function headerValue(flat: string[], lower: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i]!.toLowerCase() === lower) return flat[i + 1];
  return undefined;
}

/** HTTP/1.1 without a `close` token in Connection: the client will send another request. */
function clientKeepsAlive(req: http.IncomingMessage): boolean {
  if (req.httpVersion !== '1.1') return false;
  const c = req.headers.connection;
  return c === undefined || !/(?:^|,)\s*close\s*(?:,|$)/i.test(c);
}

export interface UpgraderOptions {
  router: Router;
  stats: Stats;
  pool: UpstreamPool;
  tunnels: Tunnels;
}

export function createUpgrader(opts: UpgraderOptions) {
  const { router, stats, pool, tunnels } = opts;

  /** Forwards one upgrade request to `group`; `port` is the listener's cluster port, 0 for the main one. */
  return function upgrade(
    req: http.IncomingMessage,
    client: Duplex,
    early: Buffer,
    info: IncomingInfo,
    group: GroupTarget,
    port: number,
    resume?: (pending: Buffer) => void,
  ): void {
    const protocol = req.headers.upgrade;
    // A body on an upgrade request would be read as tunnel bytes by one side and as a body by
    // the other: refused rather than guessed at. Other methods have no defined upgrade here.
    if (req.method !== 'GET' || info.hasBody || protocol === undefined || protocol === '') {
      stats.failed++;
      replyRaw(client, 400, 'an upgrade request must be a GET without a body and name its protocol in Upgrade\n');
      return;
    }
    const sock = client as net.Socket;
    sock.setTimeout(0);
    // Bytes the client sends before the backend said yes (101) wait here and go to the backend
    // only after it did, so nothing but the head reaches a backend that may refuse. The socket
    // keeps reading (a paused socket would not notice its client leave) up to a bound; beyond
    // it, the client is out of protocol and TCP holds the rest.
    const waiting: Buffer[] = early.length > 0 ? [early] : [];
    let waitingBytes = early.length;
    const hold = (d: Buffer): void => {
      waiting.push(d);
      waitingBytes += d.length;
      if (waitingBytes > MAX_EARLY_BYTES) sock.pause();
    };
    client.on('data', hold);
    sock.resume();
    const groupName = group.name;
    const metrics = group.metrics;
    const startedAt = performance.now();
    metrics.inFlight++;
    let settled = false;
    // Counted once, with the status the client got (0: none, it left first).
    const settle = (status: number): void => {
      if (settled) return;
      settled = true;
      metrics.finish(status, startedAt, performance.now());
    };
    let answered = 0;
    let upstream: UpstreamConn | null = null;
    let tried: Set<BackendTarget> | null = null;
    let retries = 0;
    // How a declined upgrade's response body is delimited, and whether the client connection
    // goes back to ordinary HTTP after it.
    let framing: 'length' | 'chunked' | 'close' = 'close';
    let keepClient = false;
    // A client that ends or drops its connection before the answer has given up: so does the proxy.
    const onClientGone = (): void => {
      settle(answered);
      client.destroy();
      if (upstream !== null && upstream.handler !== null) upstream.socket.destroy();
    };
    const onClientError = (): void => void client.destroy();
    client.on('error', onClientError);
    client.once('close', onClientGone);
    client.once('end', onClientGone);
    const url = req.url ?? '/';

    const attempt = (backend: BackendTarget): void => {
      const head = backendHead('GET', url, info, backend, 'Connection: Upgrade\r\nUpgrade: ' + protocol + '\r\n');
      const handler: UpstreamHandler = {
        onUpgrade(status, reason, headers, backendSocket, rest) {
          client.off('close', onClientGone);
          client.off('end', onClientGone);
          client.off('data', hold);
          if (client.destroyed) {
            settle(0);
            backendSocket.destroy();
            return;
          }
          const upgradeTo = headerValue(headers, 'upgrade') ?? protocol;
          let lines: string;
          try {
            // The Upgrade value is the backend's too: checked with the rest.
            lines = statusLine(status, reason || 'Switching Protocols') + headLines([...responseHeaders(headers), 'Connection', 'Upgrade', 'Upgrade', upgradeTo]);
          } catch (e) {
            backendSocket.destroy();
            stats.failed++;
            settle(502);
            replyRaw(client, 502, `bad gateway: upgrade to backend ${backend.server} failed: ${(e as Error).message}\n`);
            return;
          }
          settle(status);
          client.write(`${lines}\r\n`);
          if (rest.length > 0) client.write(rest);
          for (const d of waiting) backendSocket.write(d);
          waiting.length = 0;
          metrics.tunnelsOpened++;
          tunnels.open(groupName, port, sock, backendSocket);
        },
        onResponse(status, reason, headers) {
          // Not upgraded: an ordinary response, framed as the backend framed it (its body
          // arrives de-chunked, so a chunked one is chunked again here). Only a response of
          // unknown length is delimited by closing; otherwise the connection stays usable.
          const kept = responseHeaders(headers);
          const bodyless = status === 204 || status === 304;
          const hasLength = headerValue(kept, 'content-length') !== undefined;
          const te = headerValue(headers, 'transfer-encoding');
          framing = bodyless || hasLength ? 'length' : te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(te) ? 'chunked' : 'close';
          keepClient = framing !== 'close' && resume !== undefined && clientKeepsAlive(req);
          // Throws on a control character before anything is written: upstream.ts answers 502.
          const head = statusLine(status, reason) + headLines(kept);
          answered = status;
          client.write(
            head +
              (framing === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : '') +
              (keepClient ? '' : 'Connection: close\r\n') +
              '\r\n',
          );
        },
        onData(chunk) {
          const ok = framing === 'chunked' ? client.write(chunk.length.toString(16) + '\r\n') && client.write(chunk) && client.write('\r\n') : client.write(chunk);
          if (!ok && conn.socket.readable) {
            conn.socket.pause();
            client.once('drain', () => conn.socket.resume());
          }
        },
        onEnd() {
          settle(answered);
          if (framing === 'chunked') client.write('0\r\n\r\n');
          if (keepClient && resume !== undefined && !client.destroyed) {
            client.off('close', onClientGone);
            client.off('end', onClientGone);
            client.off('data', hold);
            client.off('error', onClientError);
            resume(Buffer.concat(waiting));
            waiting.length = 0;
            return;
          }
          client.end();
          sock.destroySoon();
        },
        onError(err, reused, responded) {
          if (client.destroyed) return;
          if (responded) {
            settle(answered);
            client.destroy();
            return;
          }
          const code = err.code;
          metrics.upstreamError(code);
          if (code === 'ETIMEDOUT') {
            stats.failed++;
            settle(504);
            replyRaw(client, 504, `backend ${backend.server} did not answer the upgrade in time\n`);
            return;
          }
          const refused = isRefusal(code);
          if (refused) router.markDown(backend);
          const reset = code === 'ECONNRESET' || code === 'EPIPE';
          const staleSocket = reset && reused;
          // Only the GET head can have reached the backend (early bytes wait for a 101): safe to repeat.
          const retryable = refused || reset;
          if (retryable && ++retries <= group.backends.length + 2) {
            if (!staleSocket) (tried ??= new Set()).add(backend);
            const next = router.pick(group, tried);
            if (next !== null) {
              metrics.retries++;
              attempt(next);
              return;
            }
          }
          stats.failed++;
          settle(502);
          replyRaw(client, 502, `bad gateway: upgrade to backend ${backend.server} failed: ${err.message}${code ? ` (${code})` : ''}\n`);
        },
      };
      const conn = pool.request(backend, head, false, handler, true);
      upstream = conn;
    };

    const first = router.pick(group, null);
    if (first === null) {
      stats.failed++;
      settle(503);
      replyRaw(client, 503, `server group ${groupName} has no servers\n`);
      return;
    }
    attempt(first);
  };
}
