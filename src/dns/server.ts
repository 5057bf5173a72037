// Kiln's DNS server: UDP and TCP on the same port, authoritative for the project's zone only.
// The zone is read through a function on every query, so when the control plane swaps in the
// zone of a new state (a deploy's switch), the very next answer is the new one. Every socket
// error is logged and survived: a DNS server that any packet can crash is a denial of service.
import dgram from 'node:dgram';
import net from 'node:net';
import { KilnError } from '../errors.js';
import { ResponseCache } from './cache.js';
import type { Zone } from './zone.js';

export interface DnsServerOptions {
  host: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  port: number;
  zone: () => Zone;
  log?: (message: string) => void;
  /** A TCP connection with no complete query for this long is closed (RFC 7766 6.2.3). */
  tcpIdleMs?: number;
  /** Connections beyond this are closed at once. */
  maxTcpConnections?: number;
  /** Answers cached per zone, by query bytes (0: none). */
  cacheSize?: number;
}

export interface DnsServerHandle {
  udpPort: number;
  tcpPort: number;
  close(): Promise<void>;
}

const DEFAULT_TCP_IDLE_MS = 10_000;
const DEFAULT_MAX_TCP = 128;
const DEFAULT_CACHE_SIZE = 4096;
/** A client that sends queries but does not read answers is cut off past this much backlog. */
const MAX_TCP_BACKLOG = 1 << 20;

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServerHandle> {
  const log = opts.log ?? ((): void => {});
  const idleMs = opts.tcpIdleMs ?? DEFAULT_TCP_IDLE_MS;
  const maxConns = opts.maxTcpConnections ?? DEFAULT_MAX_TCP;
  const conns = new Set<net.Socket>();
  const cache = new ResponseCache(opts.cacheSize ?? DEFAULT_CACHE_SIZE);
  const answer = (query: Buffer, transport: 'udp' | 'tcp'): Buffer | null => cache.respond(query, opts.zone, transport);

  const udp = (): dgram.Socket => {
    const family = net.isIPv6(opts.host) ? 'udp6' : 'udp4';
    const s = dgram.createSocket({ type: family });
    // From the start, so an error between binding UDP and TCP is no uncaught exception either.
    // (Bind errors are reported by bindBoth, not here.)
    let bound = false;
    s.once('listening', () => (bound = true));
    s.on('error', (e) => bound && log(`dns: udp socket error: ${e.message}`));
    s.on('message', (msg, rinfo) => {
      const out = answer(msg, 'udp');
      if (!out) return;
      s.send(out, rinfo.port, rinfo.address, (err) => {
        if (err) log(`dns: udp reply to ${rinfo.address}:${rinfo.port} failed: ${err.message}`);
      });
    });
    return s;
  };
  const tcp = (): net.Server => {
    const server = net.createServer((sock) => {
      if (conns.size >= maxConns) {
        sock.destroy();
        return;
      }
      conns.add(sock);
      serveTcp(sock, answer, idleMs, log);
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
      for (const c of conns) c.destroy();
      await Promise.all([
        new Promise<void>((r) => u.close(() => r())),
        new Promise<void>((r) => t.close(() => r())),
      ]);
    },
  };
}

/** Length-prefixed messages (RFC 1035 4.2.2), any number per connection, answered in order. */
function serveTcp(sock: net.Socket, answer: (q: Buffer, t: 'tcp') => Buffer | null, idleMs: number, log: (m: string) => void): void {
  let pending = Buffer.alloc(0);
  sock.setNoDelay(true);
  sock.setTimeout(idleMs, () => sock.destroy());
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (pending.length < 2 + len) break;
      const msg = pending.subarray(2, 2 + len);
      pending = pending.subarray(2 + len);
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
    // Copy the partial tail so the whole chunk it points into can be freed.
    if (pending.length) pending = Buffer.from(pending);
  });
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
