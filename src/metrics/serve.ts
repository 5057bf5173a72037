// The /metrics listener, shared by the control plane and the proxy: GET /metrics answers the
// registry's exposition; nothing else is served. Its address comes from kiln.yaml `metrics`,
// which is refused off loopback unless `metrics.allow-public` (spec/listeners.ts, with the key's
// file:line:column); the listener refuses such an address itself too, so no other way of starting
// it (`kiln proxy --metrics` by hand) serves the metrics, which carry no authentication, publicly.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KilnError } from '../errors.js';
import { EXPOSITION_CONTENT_TYPE } from './exposition.js';
import { isLoopbackHost } from '../util/loopback.js';

export interface MetricsServer {
  /** The port it listens on (useful when 0 was asked for). */
  readonly port: number;
  close(): Promise<void>;
}

export interface ServeMetricsOptions {
  /** kiln.yaml `metrics.allow-public` (or `kiln proxy --metrics-allow-public`): an address off loopback is meant. */
  allowPublic?: boolean;
  /** How the user asked for a public address, named in the error: the kiln.yaml key or the flag. */
  allowWith?: string;
}

export function serveMetrics(host: string, port: number, expose: () => string, what: string, opts: ServeMetricsOptions = {}): Promise<MetricsServer> {
  if (!isLoopbackHost(host) && opts.allowPublic !== true) {
    const allow = opts.allowWith ?? 'metrics.allow-public: true in kiln.yaml';
    return Promise.reject(
      new KilnError('LISTENER_NOT_LOOPBACK', `${what} metrics would listen on ${host}:${port}, which is not a loopback address: the metrics carry no authentication and name every cluster and server group`, {
        hint: `listen on 127.0.0.1 (kiln.yaml metrics.host), or set ${allow} to serve them on a network only your Prometheus can reach`,
      }),
    );
  }
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    let body: string;
    try {
      body = expose();
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`cannot collect metrics: ${(e as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EACCES' ? 'the port needs privileges' : e.code === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine` : e.message;
      reject(
        new KilnError('PORT_IN_USE', `${what} metrics cannot listen on ${host}:${port}: ${why}`, {
          hint: 'choose another address with metrics: { host: …, port: …, proxy-port: … } in kiln.yaml',
        }),
      );
    });
    server.listen(port, host, () => {
      const actual = (server.address() as AddressInfo).port;
      resolve({
        port: actual,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
