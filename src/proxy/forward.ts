// Forwarding one client request to a group's backends: the proxy's hot path. The head the
// backend gets is built in request-head.ts; the backend side is the small client in upstream.ts
// rather than http.request, as Node's general client costs more than the rest together. A request
// whose connection to a backend fails before any response byte is retried on another backend when
// that is safe (no request body), which is what lets a killed server or a keep-alive socket
// closed by an old backend drop no client request. When no server
// of the active group accepted it, it goes on to the cluster's kept group (the fallback), so a
// group whose servers are all dead (a crash loop before its rollback) fails no request either.
import * as http from 'node:http';
import type { BackendTarget, GroupTarget, Router } from './router.js';
import type { Stats } from './stats.js';
import type { UpstreamConn, UpstreamHandler, UpstreamPool } from './upstream.js';
import { connectionTokens, HOP_BY_HOP } from './hop-by-hop.js';
import { backendHead, type IncomingInfo } from './request-head.js';

/** Methods that are safe to send twice even when the first attempt may have reached the server. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface ForwarderOptions {
  router: Router;
  stats: Stats;
  pool: UpstreamPool;
}

function filterNamed(flat: string[], names: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (!names.has(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
  }
  return out;
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
   * safe. A request moved to `fallback` is counted as a fallback of `cluster` (GET /stats, /metrics).
   * `setCookie`: a Set-Cookie value added to the response (a canary client's bucket, split.ts).
   */
  return function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    info: IncomingInfo,
    group: GroupTarget,
    fallback: GroupTarget | null = null,
    cluster: string | null = null,
    setCookie: string | null = null,
  ): void {
    // The group serving the request; in-flight counts follow it, so a kept group that takes
    // failed-over requests is not destroyed under them (its drain waits for them).
    let serving = group;
    const startedAt = performance.now();
    serving.metrics.inFlight++;
    let upstream: UpstreamConn | null = null;
    let tried: Set<BackendTarget> | null = null;
    let retries = 0;
    // 'close' fires once the response is complete or the client went away: either way the
    // request is no longer in flight. A client that left aborts the upstream request.
    res.once('close', () => {
      serving.metrics.finish(res.headersSent ? res.statusCode : 0, startedAt, performance.now());
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
          const out = responseHeaders(headers);
          if (setCookie !== null) out.push('Set-Cookie', setCookie);
          res.writeHead(status, reason || undefined, out);
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
          serving.metrics.upstreamError(code);
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
              serving.metrics.retries++;
              attempt(next);
              return;
            }
          }
          stats.failed++;
          replyPlain(res, 502, `bad gateway: backend ${backend.server} failed: ${err.message}${code ? ` (${code})` : ''}\n`);
        },
      };
      const conn = pool.request(backend, backendHead(method, url, info, backend), noResponseBody, handler);
      upstream = conn;
      if (info.hasBody) sendBody(req, conn, info.chunked);
    };

    /** Moves the request to the fallback group (once): its first backend, or null. */
    const failOver = (): BackendTarget | null => {
      if (serving !== group || fallback === null) return null;
      const next = router.pick(fallback, null);
      if (next === null) return null;
      serving.metrics.leave(performance.now());
      serving = fallback;
      serving.metrics.inFlight++;
      if (cluster !== null) serving.metrics.cluster.fallbacks++;
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
