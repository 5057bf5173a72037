// Helpers for the proxy's tests: real HTTP backends on 127.0.0.1, a proxy in a temp directory,
// and small clients for the public port and the admin socket. Not a test file itself.
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { runProxy, type ProxyHandle, type ProxyOptions } from './main.js';
import type { Backend, ClusterRoute, RouteTable } from './routes.js';

export interface TestBackend {
  name: string;
  port: number;
  backend: Backend;
  /** Requests this backend has answered (or started answering). */
  hits: number;
  /** The request heads it received, newest last. */
  seen: http.IncomingHttpHeaders[];
  /** Stops listening and destroys every open connection, like a killed process. */
  kill(): Promise<void>;
}

export type BackendHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A backend answering 200 with its own name as the body and an X-Backend header. */
export async function startBackend(name: string, handler?: BackendHandler): Promise<TestBackend> {
  const sockets = new Set<net.Socket>();
  const b: TestBackend = {
    name,
    port: 0,
    backend: { server: name, host: '127.0.0.1', port: 0 },
    hits: 0,
    seen: [],
    kill: async () => {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  const server = http.createServer((req, res) => {
    b.hits++;
    b.seen.push(req.headers);
    if (handler) return handler(req, res);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Backend': name });
      res.end(name);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  b.port = (server.address() as AddressInfo).port;
  b.backend = { server: name, host: '127.0.0.1', port: b.port };
  return b;
}

/** A port nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface TestProxy {
  dir: string;
  adminSocket: string;
  routesFile: string;
  handle: ProxyHandle;
  port: number;
  /** Closes the proxy and removes its directory. */
  stop(): Promise<void>;
  /** Closes and starts a new proxy on the same files (and a new public port). */
  restart(): Promise<void>;
}

export async function startProxy(dir?: string, extra: Partial<ProxyOptions> = {}): Promise<TestProxy> {
  const d = dir ?? mkdtempSync(path.join(os.tmpdir(), 'kiln-proxy-test-'));
  const opts: ProxyOptions = {
    listenHost: '127.0.0.1',
    listenPort: 0,
    adminSocket: path.join(d, 'admin.sock'),
    routesFile: path.join(d, 'routes.json'),
    logFile: path.join(d, 'proxy.log'),
    ...extra,
  };
  const p: TestProxy = {
    dir: d,
    adminSocket: opts.adminSocket,
    routesFile: opts.routesFile,
    handle: await runProxy(opts),
    port: 0,
    stop: async () => {
      await p.handle.close();
      rmSync(d, { recursive: true, force: true });
    },
    restart: async () => {
      await p.handle.close();
      p.handle = await runProxy(opts);
      p.port = p.handle.port;
    },
  };
  p.port = p.handle.port;
  return p;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function collect(req: http.ClientRequest, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One request to the proxy's public port (or any port) with the given Host header. */
export function get(
  port: number,
  host: string,
  urlPath = '/',
  opts: { agent?: http.Agent | false; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const req = http.request({
    host: '127.0.0.1',
    port,
    path: urlPath,
    method: opts.method ?? 'GET',
    headers: { Host: host, ...opts.headers },
    agent: opts.agent ?? false,
  });
  return collect(req, opts.body);
}

/** One request to the admin API; the body is parsed as JSON. */
export async function admin(socketPath: string, method: string, urlPath: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const req = http.request({ socketPath, method, path: urlPath, headers: { 'Content-Type': 'application/json' } });
  const r = await collect(req, text);
  return { status: r.status, json: JSON.parse(r.body) as unknown };
}

/** A cluster named `name` with host `<name>.test`, whose groups have hosts `<group>.test`. */
export function cluster(name: string, active: string | null, groups: Record<string, TestBackend[]>, port?: number): ClusterRoute {
  const c: ClusterRoute = {
    name,
    hosts: [`${name}.test`],
    active,
    groups: Object.entries(groups).map(([g, bs]) => ({ name: g, hosts: [`${g}.test`], backends: bs.map((b) => b.backend) })),
  };
  if (port !== undefined) c.port = port;
  return c;
}

export function table(version: number, ...clusters: ClusterRoute[]): RouteTable {
  return { version, clusters };
}

export async function putRoutes(p: TestProxy, t: RouteTable | unknown): Promise<{ status: number; json: unknown }> {
  return admin(p.adminSocket, 'PUT', '/routes', t);
}
