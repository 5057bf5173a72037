// Kiln's DNS server: UDP and TCP on the same port, authoritative for the project's zone only.
// The zone is read through a function on every query, so when the control plane swaps in the
// zone of a new state (a deploy's switch), the very next answer is the new one. Every socket
// error is logged and survived: a DNS server that any packet can crash is a denial of service.
// Hostile clients (issue 11, defect 14): UDP answers are rate limited per source address
// (rate-limit.ts); a TCP connection is closed when it has sent no complete query for the idle
// time (a byte trickle does not keep it), and when all connection slots are taken a new client
// evicts the connection idle longest, so idle connections can never lock new clients out.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { KilnError } from '../errors.js';
import { ResponseCache } from './cache.js';
import { ResponseRateLimiter, type RateLimit } from './rate-limit.js';
import { answerClass, type DnsAnswerClass } from './answer-class.js';
import { truncatedReply } from './respond.js';
import type { Zone } from './zone.js';

export interface DnsServerOptions {
  host: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  port: number;
  zone: () => Zone;
  log?: (message: string) => void;
  /** A TCP connection with no complete query for this long is closed (RFC 7766 6.2.3). */
  tcpIdleMs?: number;
  /** At most this many TCP connections; a new one beyond it evicts the one idle longest. */
  maxTcpConnections?: number;
  /** UDP answers per source address (see rate-limit.ts); default DEFAULT_RATE_LIMIT, null: none. */
  rateLimit?: RateLimit | null;
  /** Answers cached per zone, by query bytes (0: none). */
  cacheSize?: number;
  /** Told of every query's fate (metrics): what kind of answer went back, or that none did. */
  onQuery?: (transport: 'udp' | 'tcp', answer: DnsAnswerClass) => void;
}

export interface DnsServerHandle {
  udpPort: number;
  tcpPort: number;
  close(): Promise<void>;
}

const DEFAULT_TCP_IDLE_MS = 10_000;
const DEFAULT_MAX_TCP = 128;
const DEFAULT_CACHE_SIZE = 4096;
/** kiln.yaml `dns.rate-limit`'s default: far above what a host's own servers ask, far below a flood. */
export const DEFAULT_RATE_LIMIT = 1000;
/** A client that sends queries but does not read answers is cut off past this much backlog. */
const MAX_TCP_BACKLOG = 1 << 20;

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServerHandle> {
  const log = opts.log ?? ((): void => {});
  const idleMs = opts.tcpIdleMs ?? DEFAULT_TCP_IDLE_MS;
  const maxConns = opts.maxTcpConnections ?? DEFAULT_MAX_TCP;
  const conns = new Map<net.Socket, TcpConn>();
  const cache = new ResponseCache(opts.cacheSize ?? DEFAULT_CACHE_SIZE);
  const onQuery = opts.onQuery;
  const answer = (query: Buffer, transport: 'udp' | 'tcp'): Buffer | null => {
    const out = cache.respond(query, opts.zone, transport);
    onQuery?.(transport, answerClass(out));
    return out;
  };
  const limit = opts.rateLimit === undefined ? { perSecond: DEFAULT_RATE_LIMIT } : opts.rateLimit;
  const limiter = limit && limit.perSecond > 0 ? new ResponseRateLimiter(limit) : null;

  const udp = (): dgram.Socket => {
    const family = net.isIPv6(opts.host) ? 'udp6' : 'udp4';
    const s = dgram.createSocket({ type: family, lookup: literalFirst });
    // From the start, so an error between binding UDP and TCP is no uncaught exception either.
    // (Bind errors are reported by bindBoth, not here.)
    let bound = false;
    s.once('listening', () => (bound = true));
    s.on('error', (e) => bound && log(`dns: udp socket error: ${e.message}`));
    s.on('message', (msg, rinfo) => {
      // Not a query (too short, or a response): never answered, so it costs its source nothing.
      if (msg.length < 12 || (msg[2] as number) & 0x80) return;
      const verdict = limiter ? limiter.check(rinfo.address, Date.now()) : 'answer';
      const out = verdict === 'answer' ? answer(msg, 'udp') : verdict === 'truncate' ? truncatedReply(msg) : null;
      if (verdict !== 'answer') onQuery?.('udp', verdict === 'truncate' ? 'truncated' : 'dropped');
      if (!out) return;
      // No callback: with one, node queues a tick and a call per answer (a measurable share of
      // an answer's cost), and a reply that cannot be sent is a lost datagram the client asks
      // again for, not something to log once per packet (a flood of forged sources would fill
      // the log). Socket-level errors still reach the 'error' handler above.
      s.send(out, rinfo.port, rinfo.address);
    });
    return s;
  };
  const tcp = (): net.Server => {
    const server = net.createServer((sock) => {
      if (conns.size >= maxConns) {
        const idle = idlest(conns.values());
        if (!idle) {
          // Every connection is mid-query: the newcomer waits for its retry.
          sock.destroy();
          return;
        }
        idle.sock.destroy();
        conns.delete(idle.sock);
      }
      const conn = serveTcp(sock, answer, idleMs, log);
      conns.set(sock, conn);
      sock.on('close', () => conns.delete(sock));
    });
    return server;
  };

  const { u, t, port } = await bindBoth(opts.host, opts.port, udp, tcp);
  t.on('error', (e) => log(`dns: tcp server error: ${e.message}`));

  let closed = false;
  return {
    udpPort: port,
    tcpPort: port,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const c of conns.keys()) c.destroy();
      await Promise.all([
        new Promise<void>((r) => u.close(() => r())),
        new Promise<void>((r) => t.close(() => r())),
      ]);
    },
  };
}

/**
 * dgram resolves every destination before it sends, by default with dns.lookup, which answers an
 * address literal on the next tick: a tick and a call per answer. Every reply goes to a source
 * address (a literal), so it is handed back at once; anything else (a host name to bind) still
 * goes to dns.lookup.
 */
function literalFirst(address: string, family: number | dns.LookupOneOptions, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const f = net.isIP(address);
  if (f !== 0) callback(null, address, f);
  else dns.lookup(address, typeof family === 'number' ? { family } : family, callback);
}

interface TcpConn {
  sock: net.Socket;
  /** When its last complete query came (or it connected), ms. */
  lastQueryAt: number;
  /** Bytes of an incomplete message are buffered: the client is mid-query. */
  partial: boolean;
}

/** The connection with no query in progress and no answer unsent that has waited longest. */
function idlest(conns: Iterable<TcpConn>): TcpConn | null {
  let best: TcpConn | null = null;
  for (const c of conns) {
    if (c.partial || c.sock.writableLength > 0) continue;
    if (!best || c.lastQueryAt < best.lastQueryAt) best = c;
  }
  return best;
}

/**
 * Length-prefixed messages (RFC 1035 4.2.2), any number per connection, answered in order. The
 * idle timer restarts only on a complete query: bytes that never make one don't keep it open.
 */
function serveTcp(sock: net.Socket, answer: (q: Buffer, t: 'tcp') => Buffer | null, idleMs: number, log: (m: string) => void): TcpConn {
  const conn: TcpConn = { sock, lastQueryAt: Date.now(), partial: false };
  let pending = Buffer.alloc(0);
  sock.setNoDelay(true);
  const idle = setTimeout(() => sock.destroy(), idleMs);
  idle.unref();
  sock.on('close', () => clearTimeout(idle));
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (pending.length < 2 + len) break;
      const msg = pending.subarray(2, 2 + len);
      pending = pending.subarray(2 + len);
      conn.lastQueryAt = Date.now();
      idle.refresh();
      const out = answer(msg, 'tcp');
      // A message not to be answered (a response, a stub of a header) is skipped: the length
      // prefix still says where the next one starts.
      if (!out) continue;
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(out.length);
      sock.write(Buffer.concat([prefix, out]));
      if (sock.writableLength > MAX_TCP_BACKLOG) {
        log(`dns: tcp client ${sock.remoteAddress}:${sock.remotePort} does not read its answers; closing`);
        sock.destroy();
        return;
      }
    }
    conn.partial = pending.length > 0;
    // Copy the partial tail so the whole chunk it points into can be freed.
    if (pending.length) pending = Buffer.from(pending);
  });
  return conn;
}

/** Binds UDP and TCP to one port; with port 0, retries until the kernel's UDP pick is free for TCP too. */
async function bindBoth(
  host: string,
  port: number,
  udp: () => dgram.Socket,
  tcp: () => net.Server,
): Promise<{ u: dgram.Socket; t: net.Server; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const u = udp();
    try {
      await new Promise<void>((resolve, reject) => {
        u.once('error', reject);
        u.bind(port, host, () => {
          u.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      try {
        u.close();
      } catch {
        // never bound: nothing to close
      }
      throw bindError(e, 'UDP', host, port);
    }
    const p = u.address().port;
    const t = tcp();
    try {
      await new Promise<void>((resolve, reject) => {
        t.once('error', reject);
        t.listen(p, host, () => {
          t.off('error', reject);
          resolve();
        });
      });
      return { u, t, port: p };
    } catch (e) {
      u.close();
      if (port === 0 && attempt < 20 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw bindError(e, 'TCP', host, p);
    }
  }
}

function bindError(e: unknown, proto: string, host: string, port: number): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'the port needs privileges' : `${host} is not an address of this machine`;
    return new KilnError('PORT_IN_USE', `DNS server cannot listen on ${host}:${port} (${proto}): ${why}`, {
      hint:
        code === 'EADDRNOTAVAIL'
          ? 'listen on a loopback address such as 127.0.0.1 (dns: { host: 127.0.0.1 } in kiln.yaml)'
          : 'choose another port with dns: { port: N } in kiln.yaml (ports above 1023 need no privileges)',
    });
  }
  return e instanceof Error ? e : new Error(String(e));
}
