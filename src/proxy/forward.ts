// Forwarding one client request to a group's backends: the proxy's hot path.
//
// Headers are handled as flat raw arrays (name, value, name, value...) end to end: Node parses
// `req.headers` lazily, and skipping that object is a measurable share of the per-request cost;
// the backend side is the small client in upstream.ts rather than http.request, for the same reason. A request whose connection to a backend fails before any response byte is
// retried on another backend when that is safe (no request body), which is what lets a killed
// server or a keep-alive socket closed by an old backend drop no client request. When no server
// of the active group accepted it, it goes on to the cluster's kept group (the fallback), so a
// group whose servers are all dead (a crash loop before its rollback) fails no request either.
import * as http from 'node:http';
import type { BackendTarget, GroupTarget, Router } from './router.js';
import type { Stats } from './stats.js';
import type { UpstreamConn, UpstreamHandler, UpstreamPool } from './upstream.js';
import { hostProblem, originForm } from './request-target.js';
import { normalizeHost } from './validate.js';

/** The port part of "host:port" ("" when absent), compared along with the host. */
function hostPort(h: string): string {
  const end = h.lastIndexOf(']');
  const colon = h.indexOf(':', end + 1);
  return colon === -1 ? '' : h.slice(colon + 1);
}

/** Headers that describe one connection, not the message (RFC 9110 7.6.1), plus Expect, which
 * Node's server already answered for the client. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  'expect',
]);

const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);

/** Methods that are safe to send twice even when the first attempt may have reached the server. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface ForwarderOptions {
  router: Router;
  stats: Stats;
  pool: UpstreamPool;
}

export interface IncomingInfo {
  /** Headers to send upstream (hop-by-hop removed, X-Forwarded-* set), flat. */
  headers: string[];
  /** The Host header as the client sent it, if any. */
  host: string | undefined;
  /** True when the request carries a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean;
  /** The body came with Transfer-Encoding (so it goes on chunked; its length is unknown). */
  chunked: boolean;
  /** Why the proxy refuses the request with 400 before it reaches any backend, or null. */
  problem: string | null;
}

/** Drops the tokens a Connection header names, besides the fixed hop-by-hop set. */
function connectionTokens(value: string): Set<string> | null {
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return null;
  }
  let extra: Set<string> | null = null;
  for (const t of value.split(',')) {
    const tok = t.trim().toLowerCase();
    if (tok === '' || tok === 'close' || tok === 'keep-alive') continue;
    (extra ??= new Set()).add(tok);
  }
  return extra;
}

function filterNamed(flat: string[], names: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (!names.has(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
  }
  return out;
}

/** Reads the request's raw headers once: what to forward, the Host, whether there is a body. */
export function inspectRequest(req: http.IncomingMessage): IncomingInfo {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  let host: string | undefined;
  let xff: string | undefined;
  let hasBody = false;
  let chunked = false;
  let extra: Set<string> | null = null;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'host') {
      host = value;
      hosts++;
      headers.push(name, value);
    } else if (HOP_BY_HOP.has(lower)) {
      if (lower === 'transfer-encoding') hasBody = chunked = true;
      else if (lower === 'connection') extra = connectionTokens(value);
    } else if (FORWARDED.has(lower)) {
      // Kept from the client only for X-Forwarded-For, which is a chain; Host and Proto are ours.
      if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
    } else {
      if (lower === 'content-length' && value !== '0') hasBody = true;
      headers.push(name, value);
    }
  }
  let problem = hostProblem(hosts);
  // An absolute-form target goes on in origin form; its authority is the host (and must agree
  // with the Host header), so the proxy and the backend cannot disagree about it.
  const target = originForm(req.url ?? '/');
  if (!target.ok) problem ??= target.problem;
  else if (target.authority !== null) {
    if (host === undefined) {
      host = target.authority;
      headers.push('Host', host);
    } else if (normalizeHost(host) !== normalizeHost(target.authority) || hostPort(host) !== hostPort(target.authority)) {
      problem ??= `the Host header "${host.slice(0, 255)}" differs from the request URI's host "${target.authority.slice(0, 255)}"`;
    }
    req.url = target.path;
  }
  const addr = req.socket.remoteAddress ?? '';
  headers.push('X-Forwarded-For', xff === undefined ? addr : `${xff}, ${addr}`);
  if (host !== undefined) headers.push('X-Forwarded-Host', host);
  headers.push('X-Forwarded-Proto', 'http');
  return { headers: extra ? filterNamed(headers, extra) : headers, host, hasBody, chunked, problem };
}

/** The backend's response headers without the hop-by-hop ones, flat. */
export function responseHeaders(raw: string[]): string[] {
  const out: string[] = [];
  let extra: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') extra = connectionTokens(raw[i + 1]!);
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  return extra ? filterNamed(out, extra) : out;
}

/** A plain-text answer from the proxy itself (404, 502, 503, 504). */
export function replyPlain(res: http.ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function isRefusal(code: string | undefined): boolean {
  return code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL';
}

/** "GET /path HTTP/1.1\r\nName: value\r\n...\r\n", with the body framing the backend needs. */
function requestHead(method: string, url: string, info: IncomingInfo, backend: BackendTarget): string {
  let head = method + ' ' + url + ' HTTP/1.1\r\n';
  const h = info.headers;
  for (let i = 0; i < h.length; i += 2) head += h[i] + ': ' + h[i + 1] + '\r\n';
  if (info.host === undefined) head += `Host: ${backend.host}:${backend.port}\r\n`;
  if (info.chunked) head += 'Transfer-Encoding: chunked\r\n';
  return head + '\r\n';
}

/** Streams the client's request body to the backend socket, re-chunking it if it came chunked. */
function sendBody(req: http.IncomingMessage, conn: UpstreamConn, chunked: boolean): void {
  const socket = conn.socket;
  conn.sending = true;
  const onData = (chunk: Buffer) => {
    if (socket.destroyed) return;
    const ok = chunked ? socket.write(chunk.length.toString(16) + '\r\n') && socket.write(chunk) && socket.write('\r\n') : socket.write(chunk);
    if (!ok) {
      req.pause();
      socket.once('drain', () => req.resume());
    }
  };
  req.on('data', onData);
  req.once('end', () => {
    req.off('data', onData);
    if (chunked && !socket.destroyed) socket.write('0\r\n\r\n');
    conn.sending = false;
  });
}

export function createForwarder(opts: ForwarderOptions) {
  const { router, stats, pool } = opts;

  /**
   * Sends the request to `group`, retrying on other backends, then on `fallback`, when that is
   * safe. A request moved to `fallback` is counted for `cluster` in GET /stats.
   */
  return function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    info: IncomingInfo,
    group: GroupTarget,
    fallback: GroupTarget | null = null,
    cluster: string | null = null,
  ): void {
    // The group serving the request; in-flight counts follow it, so a kept group that takes
    // failed-over requests is not destroyed under them (its drain waits for them).
    let serving = group;
    stats.begin(serving.name);
    let upstream: UpstreamConn | null = null;
    let tried: Set<BackendTarget> | null = null;
    let retries = 0;
    // 'close' fires once the response is complete or the client went away: either way the
    // request is no longer in flight. A client that left aborts the upstream request.
    res.once('close', () => {
      stats.end(serving.name);
      if (!res.writableFinished && upstream !== null && upstream.handler !== null) upstream.socket.destroy();
    });
    if (info.hasBody) req.on('error', () => res.destroy());
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const idempotent = !info.hasBody && IDEMPOTENT.has(method);
    const noResponseBody = method === 'HEAD';

    const attempt = (backend: BackendTarget): void => {
      const handler: UpstreamHandler = {
        onResponse(status, reason, headers) {
          res.writeHead(status, reason || undefined, responseHeaders(headers));
        },
        onData(chunk) {
          if (!res.write(chunk) && conn.socket.readable) {
            conn.socket.pause();
            // Resumed when the client catches up, or when it goes away ('close'): never left paused.
            const resume = (): void => {
              res.off('drain', resume);
              res.off('close', resume);
              conn.socket.resume();
            };
            res.once('drain', resume);
            res.once('close', resume);
          }
        },
        onEnd() {
          res.end();
        },
        onError(err, reused, responded) {
          if (res.destroyed) return;
          // The backend died mid-body: cut the client's connection so it sees a truncated response.
          if (responded) {
            res.destroy();
            return;
          }
          const code = err.code;
          if (code === 'ETIMEDOUT') {
            stats.failed++;
            replyPlain(res, 504, `backend ${backend.server} did not answer in time\n`);
            return;
          }
          const refused = isRefusal(code);
          if (refused) router.markDown(backend);
          // Nothing reached a backend that refused; a reset on a reused keep-alive socket is the
          // backend closing an idle connection; a reset on a fresh one may have been seen, so
          // only idempotent requests go again.
          const reset = code === 'ECONNRESET' || code === 'EPIPE';
          const staleSocket = reset && reused;
          const retryable = !info.hasBody && (refused || staleSocket || (reset && idempotent));
          if (retryable) {
            // A stale pooled socket says nothing about its backend, which stays eligible.
            if (!staleSocket) (tried ??= new Set()).add(backend);
            // Bounded: every backend once, plus a couple of stale pooled sockets.
            let next = ++retries <= serving.backends.length + 2 ? router.pick(serving, tried) : null;
            if (next === null) next = failOver();
            if (next !== null) {
              attempt(next);
              return;
            }
          }
          stats.failed++;
          replyPlain(res, 502, `bad gateway: backend ${backend.server} failed: ${err.message}${code ? ` (${code})` : ''}\n`);
        },
      };
      const conn = pool.request(backend, requestHead(method, url, info, backend), noResponseBody, handler);
      upstream = conn;
      if (info.hasBody) sendBody(req, conn, info.chunked);
    };

    /** Moves the request to the fallback group (once): its first backend, or null. */
    const failOver = (): BackendTarget | null => {
      if (serving !== group || fallback === null) return null;
      const next = router.pick(fallback, null);
      if (next === null) return null;
      stats.end(serving.name);
      serving = fallback;
      stats.begin(serving.name);
      if (cluster !== null) stats.fellBack(cluster);
      tried = null;
      retries = 0;
      return next;
    };

    const first = router.pick(group, null) ?? failOver();
    if (first === null) {
      stats.failed++;
      replyPlain(res, 503, `server group ${group.name} has no servers\n`);
      return;
    }
    attempt(first);
  };
}
