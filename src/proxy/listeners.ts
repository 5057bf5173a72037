// Public HTTP listeners: the Host-routed main port and one port per cluster that has one (the
// cluster's stable load-balancer address). Slow or oversized clients are cut off here, before
// they cost a backend anything.
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { LogFn } from './log.js';
import type { UpgradeHandler } from './tunnel.js';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Limits on what a client may make the proxy wait for or hold in memory. */
export const CLIENT_LIMITS = {
  /** Whole request head must arrive within this. */
  headersTimeoutMs: 10_000,
  /** Whole request (head and body) must arrive within this. */
  requestTimeoutMs: 60_000,
  /** How often Node checks the two timeouts above. Its default, 30 s, would let a slowloris
   * client hold a connection three times the headers timeout; 1 s costs one timer per server. */
  connectionsCheckingIntervalMs: 1_000,
  /** Idle keep-alive connections from clients are closed after this. */
  keepAliveTimeoutMs: 65_000,
  maxHeaderSize: 16 * 1024,
};

/** `upgrade` takes requests with `Connection: upgrade` (WebSocket); without it they are refused. */
const upgradedSockets = new WeakMap<http.Server, Set<Duplex>>();

/** Closes every connection, upgraded ones included. */
function closeAll(server: http.Server): void {
  server.closeAllConnections();
  for (const s of upgradedSockets.get(server) ?? []) s.destroy();
}

export function createPublicServer(handler: Handler, upgrade?: UpgradeHandler): http.Server {
  const server = http.createServer(
    {
      maxHeaderSize: CLIENT_LIMITS.maxHeaderSize,
      headersTimeout: CLIENT_LIMITS.headersTimeoutMs,
      requestTimeout: CLIENT_LIMITS.requestTimeoutMs,
      connectionsCheckingInterval: CLIENT_LIMITS.connectionsCheckingIntervalMs,
      keepAliveTimeout: CLIENT_LIMITS.keepAliveTimeoutMs,
      noDelay: true,
    },
    handler,
  );
  // The head of an upgrade request went through the same limits (size, headers timeout) as any.
  if (upgrade) {
    // Node stops tracking a connection once it is upgraded (closeAllConnections misses it, and
    // server.close would wait for it forever): tracked here so a forced close reaches it.
    const upgraded = new Set<Duplex>();
    upgradedSockets.set(server, upgraded);
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      upgraded.add(socket);
      const forget = (): boolean => upgraded.delete(socket);
      socket.once('close', forget);
      // An upgrade the backend declined leaves an ordinary HTTP/1.1 connection: handed back to
      // this server (Node documents emitting 'connection' for injected sockets), with the bytes
      // the client sent meanwhile put back in front, as they are its next request.
      const resume = (pending: Buffer): void => {
        socket.off('close', forget);
        forget();
        socket.pause();
        if (pending.length > 0) socket.unshift(pending);
        server.emit('connection', socket);
        socket.resume();
      };
      upgrade(req, socket, head, resume);
    });
  }
  // A client that sends garbage gets a 400 and its connection closed; never an exception.
  // Only on a connection nothing was written to yet (Node's own rule): after a response (e.g. a
  // 404 sent before the request body arrived, then unparsable leftovers) a second status line
  // would corrupt the stream for the client.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && !socket.destroyed && (socket as Socket).bytesWritten === 0) {
      const status =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else socket.destroy();
  });
  return server;
}

export function listen(server: http.Server, port: number | string, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if (typeof port === 'string') server.listen(port, done);
    else server.listen(port, host, done);
  });
}

/**
 * Stops accepting, lets requests in progress finish (their group is draining, never aborted),
 * and closes keep-alive connections as they become idle. Resolves when every connection is gone,
 * or after `forceAfterMs` by closing what is left.
 */
export function closeGracefully(server: http.Server, forceAfterMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      closeAll(server);
      resolve();
      return;
    }
    const idle = setInterval(() => server.closeIdleConnections(), 250);
    const force = setTimeout(() => closeAll(server), forceAfterMs);
    idle.unref();
    force.unref();
    server.close(() => {
      clearInterval(idle);
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** The set of per-cluster port listeners, opened and closed to match the route table. */
export class PortListeners {
  private readonly open = new Map<number, http.Server>();

  constructor(
    private readonly host: string,
    private readonly handlerFor: (port: number) => Handler,
    private readonly log: LogFn,
    private readonly drainMs: number,
    private readonly upgradeFor?: (port: number) => UpgradeHandler,
  ) {}

  ports(): number[] {
    return [...this.open.keys()];
  }

  /** Opens missing ports, closes unwanted ones; returns one message per port that could not open. */
  async sync(wanted: Iterable<number>): Promise<string[]> {
    const want = new Set(wanted);
    for (const [port, server] of this.open) {
      if (want.has(port)) continue;
      this.open.delete(port);
      this.log(`closing cluster listener ${this.host}:${port}`);
      void closeGracefully(server, this.drainMs);
    }
    const problems: string[] = [];
    await Promise.all(
      [...want]
        .filter((p) => !this.open.has(p))
        .map(async (port) => {
          const server = createPublicServer(this.handlerFor(port), this.upgradeFor?.(port));
          try {
            await listen(server, port, this.host);
            this.open.set(port, server);
            this.log(`cluster listener on ${this.host}:${port}`);
          } catch (e) {
            const msg = `cannot listen on ${this.host}:${port}: ${(e as Error).message}`;
            this.log(msg);
            problems.push(msg);
          }
        }),
    );
    return problems;
  }

  async closeAll(forceAfterMs: number): Promise<void> {
    const servers = [...this.open.values()];
    this.open.clear();
    await Promise.all(servers.map((s) => closeGracefully(s, forceAfterMs)));
  }
}
