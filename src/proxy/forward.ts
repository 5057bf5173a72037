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
import { backendHead, lengthTable, type IncomingInfo } from './request-head.js';

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

/** Lengths of the hop-by-hop names: a header of another length is passed without lower-casing it. */
const HOP_LENGTHS = lengthTable(HOP_BY_HOP);

/** The backend's response headers without the hop-by-hop ones, flat. */
export function responseHeaders(raw: string[]): string[] {
  const out: string[] = [];
  let extra: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length >= 64 || HOP_LENGTHS[name.length] === 0) {
      out.push(name, raw[i + 1]!);
      continue;
    }
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

/**
 * Streams the client's request body to the backend socket, re-chunking it if it came chunked.
 * Returns the function that detaches it again (the attempt failed before any body byte left).
 */
function sendBody(req: http.IncomingMessage, conn: UpstreamConn, chunked: boolean): () => void {
  const socket = conn.socket;
  conn.sending = true;
  const onData = (chunk: Buffer) => {
    conn.bodySent = true;
    if (socket.destroyed) return;
    const ok = chunked ? socket.write(chunk.length.toString(16) + '\r\n') && socket.write(chunk) && socket.write('\r\n') : socket.write(chunk);
    if (!ok) {
      req.pause();
      socket.once('drain', () => req.resume());
    }
  };
  const onEnd = () => {
    req.off('data', onData);
    if (chunked && !socket.destroyed) socket.write('0\r\n\r\n');
    conn.sending = false;
  };
  req.on('data', onData);
  req.once('end', onEnd);
  return () => {
    req.off('data', onData);
    req.off('end', onEnd);
  };
}

/** The exchange a client's response belongs to, for the one shared 'close' listener below. */
const EXCHANGE = Symbol('kiln.exchange');
type ExchangeResponse = http.ServerResponse & { [EXCHANGE]?: Exchange };

/** 'close' of a client's response: the request is no longer in flight (shared, not per request). */
function onResponseClose(this: ExchangeResponse): void {
  const x = this[EXCHANGE];
  if (x !== undefined) x.closed();
}

/**
 * One client request on its way to a backend: the handler of every upstream attempt, so a
 * request costs one object rather than a closure per callback.
 */
class Exchange implements UpstreamHandler {
  /** The group serving the request; in-flight counts follow it, so a kept group that takes
   * failed-over requests is not destroyed under them (its drain waits for them). */
  private serving: GroupTarget;
  private readonly startedAt = performance.now();
  private upstream: UpstreamConn | null = null;
  private backend: BackendTarget | null = null;
  private detachBody: (() => void) | null = null;
  private tried: Set<BackendTarget> | null = null;
  private retries = 0;
  private readonly method: string;
  private readonly url: string;
  private readonly idempotent: boolean;

  constructor(
    private readonly ctx: ForwarderOptions,
    private readonly req: http.IncomingMessage,
    private readonly res: ExchangeResponse,
    private readonly info: IncomingInfo,
    private readonly group: GroupTarget,
    private readonly fallback: GroupTarget | null,
    private readonly cluster: string | null,
    /** A Set-Cookie value added to the response (a canary client's bucket, split.ts). */
    private readonly setCookie: string | null,
  ) {
    this.serving = group;
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    this.idempotent = !info.hasBody && IDEMPOTENT.has(this.method);
  }

  start(): void {
    this.serving.metrics.inFlight++;
    // 'close' fires once the response is complete or the client went away.
    this.res[EXCHANGE] = this;
    this.res.once('close', onResponseClose);
    if (this.info.hasBody) this.req.on('error', () => this.res.destroy());
    const first = this.ctx.router.pick(this.group, null) ?? this.failOver();
    if (first === null) {
      this.ctx.stats.failed++;
      replyPlain(this.res, 503, `server group ${this.group.name} has no servers\n`);
      return;
    }
    this.attempt(first);
  }

  /** The client's response closed: the request is no longer in flight; a client that left
   * aborts the upstream request. */
  closed(): void {
    const res = this.res;
    this.serving.metrics.finish(res.headersSent ? res.statusCode : 0, this.startedAt, performance.now());
    const up = this.upstream;
    if (!res.writableFinished && up !== null && up.handler === this) up.socket.destroy();
  }

  private attempt(backend: BackendTarget): void {
    this.backend = backend;
    const conn = this.ctx.pool.request(backend, backendHead(this.method, this.url, this.info, backend), this.method === 'HEAD', this);
    this.upstream = conn;
    this.detachBody = this.info.hasBody ? sendBody(this.req, conn, this.info.chunked) : null;
  }

  /** Moves the request to the fallback group (once): its first backend, or null. */
  private failOver(): BackendTarget | null {
    if (this.serving !== this.group || this.fallback === null) return null;
    const next = this.ctx.router.pick(this.fallback, null);
    if (next === null) return null;
    this.serving.metrics.leave(performance.now());
    this.serving = this.fallback;
    this.serving.metrics.inFlight++;
    if (this.cluster !== null) this.serving.metrics.cluster.fallbacks++;
    this.tried = null;
    this.retries = 0;
    return next;
  }

  onResponse(status: number, reason: string, headers: string[]): void {
    const out = responseHeaders(headers);
    if (this.setCookie !== null) out.push('Set-Cookie', this.setCookie);
    this.res.writeHead(status, reason || undefined, out);
  }

  onData(chunk: Buffer, last: boolean): void {
    const res = this.res;
    // The last (often the only) piece of the body goes with the end: head and body leave in
    // one write.
    if (last) {
      res.end(chunk);
      return;
    }
    if (!res.write(chunk)) {
      const socket = this.upstream!.socket;
      if (!socket.readable) return;
      socket.pause();
      // Resumed when the client catches up, or when it goes away ('close'): never left paused.
      const resume = (): void => {
        res.off('drain', resume);
        res.off('close', resume);
        socket.resume();
      };
      res.once('drain', resume);
      res.once('close', resume);
    }
  }

  onEnd(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  onError(err: NodeJS.ErrnoException, reused: boolean, responded: boolean): void {
    const { res, info } = this;
    const backend = this.backend!;
    const { router, stats } = this.ctx;
    if (res.destroyed) return;
    // The backend died mid-body: cut the client's connection so it sees a truncated response.
    if (responded) {
      res.destroy();
      return;
    }
    const code = err.code;
    this.serving.metrics.upstreamError(code);
    if (code === 'ETIMEDOUT') {
      stats.failed++;
      replyPlain(res, 504, `backend ${backend.server} did not answer in time\n`);
      return;
    }
    const refused = isRefusal(code);
    if (refused) router.markDown(backend);
    // Nothing reached a backend that refused; a reset on a reused keep-alive socket is the
    // backend closing an idle connection (or one at its keep-alive limit); a reset on a
    // fresh one may have been seen, so only idempotent requests go again, or one whose
    // body had not started: the backend never had the whole request. A body already
    // taken from the client is gone: that request is never sent again.
    const reset = code === 'ECONNRESET' || code === 'EPIPE';
    const staleSocket = reset && reused;
    const bodyLeft = info.hasBody && this.upstream!.bodySent;
    const retryable = !bodyLeft && (refused || staleSocket || (reset && (this.idempotent || info.hasBody)));
    this.detachBody?.();
    this.detachBody = null;
    if (retryable) {
      // A stale pooled socket says nothing about its backend, which stays eligible.
      if (!staleSocket) (this.tried ??= new Set()).add(backend);
      // Bounded: every backend once, plus a couple of stale pooled sockets.
      let next = ++this.retries <= this.serving.backends.length + 2 ? router.pick(this.serving, this.tried) : null;
      if (next === null) next = this.failOver();
      if (next !== null) {
        this.serving.metrics.retries++;
        this.attempt(next);
        return;
      }
    }
    stats.failed++;
    replyPlain(res, 502, `bad gateway: backend ${backend.server} failed: ${err.message}${code ? ` (${code})` : ''}\n`);
  }
}

export function createForwarder(opts: ForwarderOptions) {
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
    new Exchange(opts, req, res, info, group, fallback, cluster, setCookie).start();
  };
}
