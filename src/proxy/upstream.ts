// A small HTTP/1.1 client for the proxy's backend side, with a LIFO pool of keep-alive sockets
// per backend. It exists for speed: Node's http.request (ClientRequest, Agent, IncomingMessage)
// cost the proxy about as much CPU per request as everything else together, and a proxy needs
// none of their generality: it writes one request head it already has as a string, reads one
// response (Content-Length, chunked, or until close), and hands bytes through.
import * as net from 'node:net';

export interface UpstreamHandler {
  /** The response head: status, reason, headers as a flat [name, value, ...] list. */
  onResponse(status: number, reason: string, headers: string[]): void;
  /**
   * Body bytes (chunked encoding already removed). `last`: the body ends with this chunk (a
   * Content-Length body), and onEnd follows at once: the handler may send both in one write.
   */
  onData(chunk: Buffer, last: boolean): void;
  onEnd(): void;
  /**
   * The exchange failed. `reused`: it ran on a pooled keep-alive socket; `responded`: a response
   * head had already arrived (then nothing can be retried).
   */
  onError(err: NodeJS.ErrnoException, reused: boolean, responded: boolean): void;
  /**
   * Only for an exchange started with `upgrade`: the backend answered 101. The socket has left
   * the pool and belongs to the handler from now on; `rest` is what followed the head.
   */
  onUpgrade?(status: number, reason: string, headers: string[], socket: net.Socket, rest: Buffer): void;
}

export interface UpstreamTarget {
  host: string;
  port: number;
  key: string;
}

const enum State {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  /** A 101 head was parsed: the socket is handed over, nothing more is parsed here. */
  Upgraded,
}

const MAX_HEAD = 64 * 1024;
const CRLF2 = Buffer.from('\r\n\r\n');

function hangUp(): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error('socket hang up');
  e.code = 'ECONNRESET';
  return e;
}

function protocolError(msg: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`bad response from backend: ${msg}`);
  e.code = 'EPROTO';
  return e;
}

/** The value of a string of decimal digits, or -1 (Number() would also take "0x10" or "1e3"). */
function decimal(s: string): number {
  if (s.length === 0 || s.length > 15) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(s);
}

/** One connection to a backend, carrying one exchange at a time. */
class Conn {
  readonly socket: net.Socket;
  handler: UpstreamHandler | null = null;
  reused = false;
  private state = State.Idle;
  private pending: Buffer | null = null;
  private remaining = 0;
  private keepAlive = true;
  private noBody = false;
  private upgrade = false;
  private upgradeHead: { status: number; reason: string; headers: string[] } | null = null;
  private responded = false;
  /** The request body is still being sent; the socket can't be reused until it is done. */
  sending = false;
  /** Some of this exchange's request body was taken from the client for this socket: the
   * request can no longer be sent anywhere else. */
  bodySent = false;
  /** Exchanges completed on this connection. */
  private exchanges = 0;
  /** Pool clock ticks the connection lay idle before this exchange started. */
  private idleTicks = 0;
  /** The backend ended or reset the connection (not the proxy destroying it for a client that left). */
  private peerClosed = false;
  /** Pool clock reading of the last sign of life (request sent, bytes received, released). */
  stamp = 0;

  constructor(
    readonly pool: UpstreamPool,
    readonly target: UpstreamTarget,
  ) {
    this.socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      this.peerClosed = true;
      this.fail(e);
    });
    // The backend closed the connection; an idle one leaves the pool now, not when 'close' follows.
    this.socket.on('end', () => {
      this.peerClosed = true;
      if (this.handler === null) this.pool.forget(this);
    });
    this.socket.on('close', () => this.onClose());
  }

  /** Called by the pool's sweep: closes idle sockets and fails exchanges gone silent. */
  expire(now: number): void {
    const silentMs = (now - this.stamp) * SWEEP_MS;
    if (this.handler === null) {
      if (silentMs >= this.pool.idleTimeoutMs) {
        this.pool.forget(this);
        this.socket.destroy();
      }
    } else if (silentMs >= this.pool.requestTimeoutMs) {
      this.fail(Object.assign(new Error('backend timed out'), { code: 'ETIMEDOUT' }));
    }
  }

  start(handler: UpstreamHandler, head: string, noBody: boolean, upgrade = false): void {
    this.handler = handler;
    this.state = State.Head;
    this.responded = false;
    this.keepAlive = true;
    this.noBody = noBody;
    this.upgrade = upgrade;
    this.bodySent = false;
    this.idleTicks = this.pool.now - this.stamp;
    this.stamp = this.pool.now;
    this.socket.write(head, 'latin1');
  }

  private fail(err: NodeJS.ErrnoException): void {
    const h = this.handler;
    this.handler = null;
    this.state = State.Idle;
    this.pool.forget(this);
    this.socket.destroy();
    if (h === null) return;
    // A reused connection the backend closed as this request arrived, soon after the previous
    // answer: a backend that closes after so many requests (a keep-alive limit).
    // Only a close by the backend counts: the proxy cutting the exchange of a client that left
    // says nothing about the backend's limit (counting it once made the pool open a connection
    // per request).
    const code = err.code;
    if (this.peerClosed && this.reused && !this.responded && (code === 'ECONNRESET' || code === 'EPIPE')) {
      this.pool.closedAfter(this.target.key, this.exchanges, this.idleTicks);
    }
    h.onError(err, this.reused, this.responded);
  }

  private onClose(): void {
    this.pool.forget(this);
    const h = this.handler;
    if (h === null) return;
    if (this.state === State.UntilClose) {
      this.handler = null;
      h.onEnd();
    } else this.fail(hangUp());
  }

  private finish(): void {
    const h = this.handler!;
    this.handler = null;
    this.state = State.Idle;
    this.exchanges++;
    if (this.keepAlive && !this.sending && this.pending === null && this.exchanges < this.pool.requestLimit(this.target.key)) {
      // A handler may have paused the socket for backpressure and finished before 'drain': a
      // paused socket in the pool would never read its next response (a request that hangs).
      this.socket.resume();
      this.pool.release(this);
    } else {
      this.pool.forget(this);
      this.socket.destroy();
    }
    h.onEnd();
  }

  private onData(d: Buffer): void {
    this.stamp = this.pool.now;
    if (this.handler === null) {
      // Bytes nobody asked for: the connection is out of step; drop it.
      this.pool.forget(this);
      this.socket.destroy();
      return;
    }
    let buf = d;
    while (buf.length > 0 && this.handler !== null) {
      switch (this.state) {
        case State.Head: {
          if (this.pending !== null) {
            buf = Buffer.concat([this.pending, buf]);
            this.pending = null;
          }
          const end = buf.indexOf(CRLF2);
          if (end === -1) {
            if (buf.length > MAX_HEAD) return this.fail(protocolError('response head too large'));
            this.pending = buf;
            return;
          }
          const err = this.parseHead(buf.toString('latin1', 0, end));
          if (err !== null) return this.fail(protocolError(err));
          buf = buf.subarray(end + 4);
          if ((this.state as State) === State.Upgraded) return this.handOver(buf);
          if ((this.state as State) === State.Idle) {
            this.finish();
            if (buf.length > 0) {
              this.pool.forget(this);
              this.socket.destroy();
            }
            return;
          }
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, buf.length);
          this.remaining -= n;
          this.handler.onData(n === buf.length ? buf : buf.subarray(0, n), this.remaining === 0);
          if (this.remaining === 0) {
            if (buf.length > n) this.keepAlive = false;
            if (this.handler !== null) this.finish();
            return;
          }
          buf = buf.subarray(n);
          break;
        }
        case State.UntilClose:
          this.handler.onData(buf, false);
          return;
        case State.ChunkSize:
        case State.Trailers: {
          if (this.pending !== null) {
            buf = Buffer.concat([this.pending, buf]);
            this.pending = null;
          }
          const eol = buf.indexOf('\r\n');
          if (eol === -1) {
            if (buf.length > 4096) return this.fail(protocolError('chunk line too long'));
            this.pending = buf;
            return;
          }
          const line = buf.toString('latin1', 0, eol);
          buf = buf.subarray(eol + 2);
          if (this.state === State.Trailers) {
            if (line === '') {
              if (buf.length > 0) this.keepAlive = false;
              this.finish();
              return;
            }
            break; // trailer fields are dropped: they would arrive after the forwarded head
          }
          const size = parseInt(line, 16);
          if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+/.test(line)) return this.fail(protocolError('bad chunk size'));
          if (size === 0) this.state = State.Trailers;
          else {
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, buf.length);
          this.remaining -= n;
          this.handler.onData(n === buf.length ? buf : buf.subarray(0, n), false);
          buf = buf.subarray(n);
          if (this.remaining === 0) {
            this.state = State.ChunkDataEnd;
            this.remaining = 2;
          }
          break;
        }
        case State.ChunkDataEnd: {
          // Skip the CRLF after a chunk's data (possibly split across reads).
          const n = Math.min(this.remaining, buf.length);
          this.remaining -= n;
          buf = buf.subarray(n);
          if (this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        case State.Idle:
        case State.Upgraded:
          return;
      }
    }
  }

  /** After a 101: the socket leaves the pool and this parser for good, with what followed the head. */
  private handOver(rest: Buffer): void {
    const h = this.handler!;
    const head = this.upgradeHead!;
    this.handler = null;
    this.upgradeHead = null;
    this.pool.forget(this);
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('error');
    this.socket.removeAllListeners('close');
    h.onUpgrade!(head.status, head.reason, head.headers, this.socket, rest);
  }

  /** Parses "HTTP/1.1 200 OK\r\nName: value..." and sets the body state; an error message or null. */
  private parseHead(head: string): string | null {
    // Scanned in place (no split, slice per line, trim): this runs once per request.
    let eol = head.indexOf('\r\n');
    if (eol === -1) eol = head.length;
    // "HTTP/1.x NNN reason", checked by hand.
    const status = decimal(head.slice(9, 12));
    if (
      !head.startsWith('HTTP/1.') ||
      (head[7] !== '1' && head[7] !== '0') ||
      head[8] !== ' ' ||
      eol < 12 ||
      !Number.isInteger(status) ||
      status < 100 ||
      (eol > 12 && head[12] !== ' ')
    ) {
      return `bad status line ${JSON.stringify(head.slice(0, Math.min(eol, 80)))}`;
    }
    const reason = eol > 13 ? head.slice(13, eol) : '';
    const headers: string[] = [];
    let length = -1;
    let chunked = false;
    let keepAlive = head[7] === '1';
    let pos = eol + 2;
    while (pos < head.length) {
      let end = head.indexOf('\r\n', pos);
      if (end === -1) end = head.length;
      const colon = head.indexOf(':', pos);
      if (colon <= pos || colon > end) return 'bad header line';
      const name = head.slice(pos, colon);
      // The value without the optional white space around it (space and tab).
      let from = colon + 1;
      let to = end;
      while (from < to && (head.charCodeAt(from) === 32 || head.charCodeAt(from) === 9)) from++;
      while (to > from && (head.charCodeAt(to - 1) === 32 || head.charCodeAt(to - 1) === 9)) to--;
      const value = head.slice(from, to);
      pos = end + 2;
      headers.push(name, value);
      const len = name.length;
      if (len === 14 && name.toLowerCase() === 'content-length') {
        const n = decimal(value);
        if (n < 0 || (length !== -1 && length !== n)) return 'bad Content-Length';
        length = n;
      } else if (len === 17 && name.toLowerCase() === 'transfer-encoding') {
        chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
        if (!chunked) keepAlive = false;
      } else if (len === 10 && name.toLowerCase() === 'connection') {
        const v = value.toLowerCase();
        if (v.includes('close')) keepAlive = false;
        else if (v.includes('keep-alive')) keepAlive = true;
      }
    }
    if (status >= 100 && status < 200) {
      // Informational (100 Continue, 103 Early Hints): not forwarded; the final head follows.
      if (status === 101) {
        if (!this.upgrade || this.handler!.onUpgrade === undefined) return 'protocol upgrade the client did not ask for';
        this.responded = true;
        this.upgradeHead = { status, reason, headers };
        this.state = State.Upgraded;
        return null;
      }
      this.state = State.Head;
      return null;
    }
    // An upgrade request answered without 101 is not reused: bytes the client sent after its
    // head (early frames) may already be on the wire and would be read as a next request.
    this.keepAlive = keepAlive && !this.upgrade;
    this.responded = true;
    try {
      this.handler!.onResponse(status, reason, headers);
    } catch (e) {
      // Node refuses to send it on (a control character such as a bare LF in a value): a bad
      // response, answered 502 like any other, never an exception that stops the proxy.
      this.responded = false;
      return `unusable head: ${(e as Error).message}`;
    }
    if (this.noBody || status === 204 || status === 304) this.state = State.Idle;
    else if (chunked) this.state = State.ChunkSize;
    else if (length >= 0) {
      this.remaining = length;
      this.state = length === 0 ? State.Idle : State.Length;
    } else {
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
    return null;
  }
}

/** Resolution of the pool's clock: timeouts are checked by one sweep, not a timer per request. */
const SWEEP_MS = 500;
/** A learned keep-alive limit of a backend is kept for 5 minutes, then learned anew. */
const LIMIT_TTL_TICKS = (5 * 60_000) / SWEEP_MS;

/** Idle keep-alive sockets per backend, most recently used first. */
export class UpstreamPool {
  private readonly idle = new Map<string, Conn[]>();
  private readonly all = new Set<Conn>();
  /** Coarse clock in SWEEP_MS ticks; reading it costs nothing on the hot path. */
  now = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    /** A backend silent for this long during an exchange fails it with ETIMEDOUT. */
    readonly requestTimeoutMs: number,
    /** Idle sockets are closed after this; below a Node backend's default 5 s keep-alive. */
    readonly idleTimeoutMs: number,
    readonly maxIdlePerBackend: number,
  ) {
    this.sweeper = setInterval(() => {
      this.now++;
      for (const c of [...this.all]) c.expire(this.now);
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  /**
   * Backends seen closing connections after so many exchanges, and until when that is believed.
   * A connection retires after that many, so a request that cannot be sent twice (one with a
   * body) is not sent on a connection the backend is about to close.
   */
  private readonly limits = new Map<string, { max: number; until: number }>();

  /** Exchanges a connection to `key` may carry (Infinity when nothing was learned). */
  requestLimit(key: string): number {
    if (this.limits.size === 0) return Infinity;
    const l = this.limits.get(key);
    if (l === undefined) return Infinity;
    if (l.until < this.now) {
      // Forgotten after a while: a backend's limit may be raised, or the close was a one-off.
      this.limits.delete(key);
      return Infinity;
    }
    return l.max;
  }

  /**
   * A reused connection to `key` was closed by the backend, without an answer, as its next
   * request arrived after `exchanges` answers. Learned as a limit only when it had not lain idle
   * (an idle timeout says nothing about a count).
   */
  closedAfter(key: string, exchanges: number, idleTicks: number): void {
    if (exchanges < 1 || idleTicks > 1) return;
    const max = Math.min(exchanges, this.requestLimit(key));
    this.limits.set(key, { max, until: this.now + LIMIT_TTL_TICKS });
  }

  /** Starts one exchange; the returned socket carries the request body, if any. */
  request(target: UpstreamTarget, head: string, noBody: boolean, handler: UpstreamHandler, upgrade = false): Conn {
    const list = this.idle.get(target.key);
    let conn = list !== undefined ? list.pop() : undefined;
    if (conn === undefined) {
      conn = new Conn(this, target);
      this.all.add(conn);
    } else conn.reused = true;
    conn.start(handler, head, noBody, upgrade);
    return conn;
  }

  release(conn: Conn): void {
    const key = conn.target.key;
    let list = this.idle.get(key);
    if (list === undefined) this.idle.set(key, (list = []));
    if (list.length >= this.maxIdlePerBackend) {
      this.forget(conn);
      conn.socket.destroy();
      return;
    }
    conn.stamp = this.now;
    list.push(conn);
  }

  forget(conn: Conn): void {
    this.all.delete(conn);
    const list = this.idle.get(conn.target.key);
    if (list === undefined) return;
    const i = list.indexOf(conn);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) this.idle.delete(conn.target.key);
  }

  destroy(): void {
    clearInterval(this.sweeper);
    for (const c of this.all) c.socket.destroy();
    this.all.clear();
    this.idle.clear();
  }
}

export type UpstreamConn = Conn;
