// The admin API: HTTP on a unix socket (mode 0600), never on a public listener, so only the
// control plane (the same user) can change routes.
//   GET /healthz   {ok, version}
//   GET /routes    the current RouteTable
//   PUT /routes    replace the whole table: 400 invalid (old table kept), 409 older version, 200 applied
//   GET /stats     ProxyStats
import * as http from 'node:http';
import * as net from 'node:net';
import { promises as fs } from 'node:fs';
import { KilnError } from '../errors.js';
import type { ProxyStats, RouteTable } from './routes.js';
import { listen } from './listeners.js';
import { readBodyLimited } from '../util/read-body.js';

export interface AdminReply {
  status: number;
  body: unknown;
}

export interface AdminApi {
  table(): RouteTable;
  putTable(body: unknown): Promise<AdminReply>;
  stats(): ProxyStats;
}

const MAX_BODY = 16 * 1024 * 1024;

function send(res: http.ServerResponse, reply: AdminReply): void {
  const text = JSON.stringify(reply.body) + '\n';
  res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const readBody = (req: http.IncomingMessage): Promise<string | null> => readBodyLimited(req, MAX_BODY);

async function handle(api: AdminApi, req: http.IncomingMessage): Promise<AdminReply> {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  if (path === '/healthz' && method === 'GET') return { status: 200, body: { ok: true, version: api.table().version } };
  if (path === '/stats' && method === 'GET') return { status: 200, body: api.stats() };
  if (path === '/routes' && method === 'GET') return { status: 200, body: api.table() };
  if (path === '/routes' && method === 'PUT') {
    const text = await readBody(req);
    if (text === null) return { status: 413, body: { error: 'too_large', message: `route table over ${MAX_BODY} bytes` } };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return { status: 400, body: { error: 'invalid', message: `body is not JSON: ${(e as Error).message}`, errors: [] } };
    }
    return api.putTable(parsed);
  }
  if (['/healthz', '/stats', '/routes'].includes(path ?? '')) {
    return { status: 405, body: { error: 'method_not_allowed', message: `${method} is not supported on ${path}` } };
  }
  return { status: 404, body: { error: 'not_found', message: `no admin endpoint ${path}; try /healthz, /routes, /stats` } };
}

export function createAdminServer(api: AdminApi): http.Server {
  return http.createServer((req, res) => {
    handle(api, req).then(
      (reply) => send(res, reply),
      (e: Error) => send(res, { status: 500, body: { error: 'internal', message: e.message } }),
    );
  });
}

/** True when some process accepts connections on the unix socket at `path`. */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Listens on `path` with mode 0600, replacing a socket file a dead proxy left behind. */
export async function listenAdmin(server: http.Server, path: string): Promise<void> {
  const st = await fs.lstat(path).catch(() => null);
  if (st !== null) {
    if (!st.isSocket()) {
      throw new KilnError('USAGE', `admin socket path ${path} exists and is not a socket`, {
        hint: 'remove it or choose another path',
      });
    }
    if (await socketInUse(path)) {
      throw new KilnError('USAGE', `another kiln proxy is already serving its admin API on ${path}`, {
        hint: 'stop that proxy first (or give this one another admin socket)',
      });
    }
    await fs.rm(path, { force: true });
  }
  // The socket is created with the umask's mode: make it private from the first instant.
  // bind() happens synchronously inside listen(), so the mask is restored right after it.
  const oldMask = process.umask(0o177);
  let listening: Promise<void>;
  try {
    listening = listen(server, path);
  } finally {
    process.umask(oldMask);
  }
  await listening;
  await fs.chmod(path, 0o600);
}
