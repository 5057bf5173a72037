// The control plane's HTTP API (JSON; deploy and rollback stream NDJSON progress; live streams
// are Server-Sent Events). The calls and their shapes are the contract (contract.ts): requests
// are checked against it here. Every call needs the token, or a dashboard session (with its CSRF
// token and Origin for a POST); anything else gets 401 (403) and changes nothing. On the TCP
// listener, everything outside /v1/ is the dashboard (web/router.ts).
import http from 'node:http';
import { KilnError, type KilnErrorBody } from '../errors.js';
import { storageError } from '../store/storage-error.js';
import { bearer, tokenMatches } from './auth.js';
import { readBodyLimited } from '../util/read-body.js';
import { apiCalls } from './contract.js';
import { checkBody, checkQuery } from './contract-validate.js';
import type { ObjectNode } from '../spec/dsl.js';
import type { Dashboard } from '../web/router.js';

export interface StreamWriter {
  event(e: Record<string, unknown>): void;
  /** Who asked for the operation, for its deployment record (the timeline's "by"). */
  by?: string;
}

/** The user name the CLI says it runs as (X-Kiln-User): informational, checked to be a plain name. */
function claimedUser(req: http.IncomingMessage): string | undefined {
  const v = req.headers['x-kiln-user'];
  const s = Array.isArray(v) ? v[0] : v;
  return s && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/.test(s) ? s : undefined;
}

export interface ApiHandlers {
  status(q: URLSearchParams): Promise<unknown>;
  events(q: URLSearchParams): Promise<unknown>;
  deploy(body: Record<string, unknown>, out: StreamWriter): Promise<unknown>;
  rollback(body: Record<string, unknown>, out: StreamWriter): Promise<unknown>;
  down(body: Record<string, unknown>, out: StreamWriter): Promise<unknown>;
  /** Environments created from a release (kiln env create / destroy) and promotion between them. */
  envCreate(body: Record<string, unknown>, out: StreamWriter): Promise<unknown>;
  envDestroy(body: Record<string, unknown>, out: StreamWriter): Promise<unknown>;
  promote(body: Record<string, unknown>, out: StreamWriter): Promise<unknown>;
  /** kiln pause|resume|maintenance: a cluster's traffic mode (server/traffic.ts). */
  traffic(body: Record<string, unknown>, out: StreamWriter): Promise<unknown>;
  /** kiln rollout status|promote|pause|resume|abort: steers a canary in progress (JSON answer). */
  rollout(body: Record<string, unknown>): Promise<unknown>;
  /** Writes the answer itself: JSON, or NDJSON while following. */
  logs(q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  /** The dashboard's reads (contract.ts: deployments, releases, release, releaseDiff). */
  deployments(q: URLSearchParams): Promise<unknown>;
  releases(): Promise<unknown>;
  release(q: URLSearchParams): Promise<unknown>;
  releaseDiff(q: URLSearchParams): Promise<unknown>;
  /** Server-Sent Events: events and status (live-stream.ts), log lines (logs/sse.ts). */
  live(q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  logStream(q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
}

/** Contract checks by route: the query of a GET, the body of a POST. */
const CHECKS = new Map<string, { query?: ObjectNode; body?: ObjectNode }>(
  Object.values(apiCalls).map((c) => [`${c.method} ${c.path}`, { ...(c.query ? { query: c.query as ObjectNode } : {}), ...(c.body ? { body: c.body as ObjectNode } : {}) }]),
);

const MAX_BODY = 1 << 20;

async function readJson(req: http.IncomingMessage, route: string): Promise<Record<string, unknown>> {
  const text = await readBodyLimited(req, MAX_BODY);
  if (text === null) throw new KilnError('USAGE', 'request body too large');
  const node = CHECKS.get(route)?.body;
  if (node) return checkBody(node, text, route) as Record<string, unknown>;
  try {
    const v = text ? (JSON.parse(text) as unknown) : {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new KilnError('USAGE', 'request body must be a JSON object');
  }
}

/** Every error answer, JSON or a stream's last line, is {"error": {code, message, ...}} (errors.ts). */
function errorBody(e: unknown): { error: KilnErrorBody } {
  if (e instanceof KilnError) return e.toJSON();
  const storage = storageError(e);
  if (storage) return storage.toJSON();
  return new KilnError('INTERNAL', (e as Error).message, { hint: 'a bug in the control plane: .kiln/logs/server.log has the stack' }).toJSON();
}

/** Told of every request once its answer is done (metrics): its method, path, status and duration. */
export type ApiObserver = (method: string, path: string, status: number, seconds: number) => void;

export function createApiServer(token: string, h: ApiHandlers, log: (m: string) => void, observe?: ApiObserver, web?: Dashboard): http.Server {
  return http.createServer(async (req, res) => {
    if (observe) {
      const started = performance.now();
      res.once('close', () => observe(req.method ?? '', (req.url ?? '/').split('?')[0] ?? '/', res.statusCode, (performance.now() - started) / 1000));
    }
    const send = (status: number, body: unknown): void => {
      const data = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
      res.end(data);
    };
    const url = new URL(req.url ?? '/', 'http://kiln');
    if (web?.owns(url)) {
      try {
        return await web.handle(req, res, url);
      } catch (e) {
        log(`dashboard ${url.pathname}: ${(e as Error).stack}`);
        if (!res.headersSent) send(500, errorBody(e));
        else res.end();
        return;
      }
    }
    let by = 'cli';
    if (!tokenMatches(token, bearer(req))) {
      by = 'dashboard';
      const session = web?.apiSession(req);
      if (session === undefined || session === 'forbidden') {
        req.resume();
        if (session === 'forbidden') send(403, new KilnError('FORBIDDEN', 'refused: a dashboard request without its CSRF token or from another origin', { hint: 'send X-Kiln-CSRF from a dashboard page' }).toJSON());
        else send(401, new KilnError('UNAUTHORIZED', 'missing or wrong token', { hint: 'send "Authorization: Bearer <.kiln/run/token>"' }).toJSON());
        return;
      }
    }
    const route = `${req.method} ${url.pathname}`;
    try {
      const queryNode = req.method === 'GET' ? CHECKS.get(route)?.query : undefined;
      if (queryNode) checkQuery(queryNode, url.searchParams, route);
      switch (route) {
        case 'GET /v1/health':
          return send(200, { ok: true, pid: process.pid });
        case 'GET /v1/status':
          return send(200, await h.status(url.searchParams));
        case 'GET /v1/logs':
          return await h.logs(url.searchParams, req, res);
        case 'GET /v1/events':
          return send(200, await h.events(url.searchParams));
        case 'GET /v1/deployments':
          return send(200, await h.deployments(url.searchParams));
        case 'GET /v1/releases':
          return send(200, await h.releases());
        case 'GET /v1/release':
          return send(200, await h.release(url.searchParams));
        case 'GET /v1/release-diff':
          return send(200, await h.releaseDiff(url.searchParams));
        case 'GET /v1/stream':
          return await h.live(url.searchParams, req, res);
        case 'GET /v1/logs/stream':
          return await h.logStream(url.searchParams, req, res);
        case 'POST /v1/rollout':
          return send(200, await h.rollout(await readJson(req, route)));
        case 'POST /v1/deploy':
        case 'POST /v1/rollback':
        case 'POST /v1/down':
        case 'POST /v1/env/create':
        case 'POST /v1/env/destroy':
        case 'POST /v1/promote':
        case 'POST /v1/traffic': {
          const body = await readJson(req, route);
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          const user = by === 'cli' ? claimedUser(req) : undefined;
          const out: StreamWriter = { event: (e) => res.write(JSON.stringify({ type: 'event', ...e }) + '\n'), by: user ? `cli (${user})` : by };
          try {
            const ops: Record<string, ApiHandlers['deploy']> = {
              'POST /v1/deploy': h.deploy,
              'POST /v1/rollback': h.rollback,
              'POST /v1/down': h.down,
              'POST /v1/env/create': h.envCreate,
              'POST /v1/env/destroy': h.envDestroy,
              'POST /v1/promote': h.promote,
              'POST /v1/traffic': h.traffic,
            };
            const op = ops[route] as ApiHandlers['deploy'];
            const result = await op(body, out);
            res.end(JSON.stringify({ type: 'result', result }) + '\n');
          } catch (e) {
            if (!(e instanceof KilnError)) log(`${route}: ${(e as Error).stack}`);
            res.end(JSON.stringify({ type: 'error', ...errorBody(e) }) + '\n');
          }
          return;
        }
        default:
          return send(404, new KilnError('NOT_FOUND', `no such API call: ${route}`).toJSON());
      }
    } catch (e) {
      if (!(e instanceof KilnError)) log(`${route}: ${(e as Error).stack}`);
      if (!res.headersSent) send(e instanceof KilnError ? 400 : 500, errorBody(e));
      else res.end();
    }
  });
}
