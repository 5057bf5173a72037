// The CLI's side of the control-plane API: JSON calls and NDJSON progress streams over the
// unix socket, with the token read from .kiln/run/token. `call` and `streamCall` take the path,
// the request's and the answer's types from the contract (contract.ts).
import http from 'node:http';
import os from 'node:os';
import { existsSync } from 'node:fs';
import { KilnError, errorFromJSON } from '../errors.js';
import { runPaths } from './paths.js';
import { readToken } from '../store/token.js';
import { apiCalls, type BodyOf, type JsonGetCall, type QueryOf, type ResponseOf, type StreamCall } from './contract.js';

export interface ProgressEvent {
  kind: string;
  message: string;
  at: string;
  cluster?: string;
  subject?: string;
}

/** The control plane's error, every field kept (errors.ts decodes the one wire shape). */
function toKilnError(body: unknown, status?: number): KilnError {
  return (
    errorFromJSON(body) ??
    new KilnError('INTERNAL', `the control plane answered${status ? ` ${status}` : ''} with something that is not a Kiln error: ${JSON.stringify(body).slice(0, 200)}`, {
      hint: 'see .kiln/logs/server.log',
    })
  );
}

const USER = ((): string | undefined => {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
})();

export class ApiClient {
  private readonly socket: string;
  private readonly token: string;

  constructor(kilnDir: string, opts: { token?: string } = {}) {
    const p = runPaths(kilnDir);
    this.socket = p.apiSocket;
    if (!existsSync(p.apiSocket)) {
      throw new KilnError('SERVER_UNREACHABLE', 'no control plane is running for this project', {
        hint: 'start one with `kiln server` (in another terminal, or `kiln server &`)',
      });
    }
    this.token = opts.token ?? readToken(kilnDir);
  }

  private open(method: string, path: string, body: unknown, onResponse: (res: http.IncomingMessage) => void, reject: (e: Error) => void): void {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        socketPath: this.socket,
        method,
        path,
        agent: false,
        headers: {
          authorization: `Bearer ${this.token}`,
          // Who runs the CLI, for the deployment's record (the dashboard's timeline): informational.
          ...(USER ? { 'x-kiln-user': USER } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
      },
      onResponse,
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ECONNREFUSED' || e.code === 'ENOENT'
          ? new KilnError('SERVER_UNREACHABLE', `the control plane does not answer on ${this.socket}`, { hint: 'start it with `kiln server`' })
          : e,
      ),
    );
    req.end(payload);
  }

  /** A JSON GET of the contract: its query and its answer typed by contract.ts. */
  read<K extends JsonGetCall>(name: K, query: QueryOf<K>): Promise<ResponseOf<K>> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query as Record<string, unknown>)) if (v !== undefined) q.set(k, String(v));
    const text = q.toString();
    return this.get<ResponseOf<K>>(`${(apiCalls[name] as { path: string }).path}${text ? `?${text}` : ''}`);
  }

  /** A POST of the contract with NDJSON progress: its body and its answer typed by contract.ts. */
  streamCall<K extends StreamCall>(name: K, body: BodyOf<K>, onEvent: (e: ProgressEvent) => void): Promise<ResponseOf<K>> {
    return this.stream<ResponseOf<K>>((apiCalls[name] as { path: string }).path, body, onEvent);
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path, undefined);
  }

  /** POSTs a JSON body and reads one JSON answer (no progress stream). */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private call<T>(method: string, path: string, payload: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      this.open(method, path, payload, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => reject(new KilnError('SERVER_UNREACHABLE', 'the control plane closed the connection before it answered', { hint: 'see kiln status' })));
        res.on('end', () => {
          let body: Record<string, unknown>;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            return reject(new Error(`control plane sent a non-JSON answer (${res.statusCode})`));
          }
          if (res.statusCode === 200) resolve(body as T);
          else reject(toKilnError(body, res.statusCode));
        });
      }, reject);
    });
  }

  /** POSTs and follows the NDJSON stream: progress events, then one result or error line. */
  stream<T>(path: string, body: unknown, onEvent: (e: ProgressEvent) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      this.open('POST', path, body, (res) => {
        let buf = '';
        let done = false;
        const handle = (line: string): void => {
          if (!line.trim()) return;
          const msg = JSON.parse(line) as Record<string, unknown>;
          if (msg.type === 'event') onEvent(msg as unknown as ProgressEvent);
          else if (msg.type === 'result') {
            done = true;
            resolve(msg.result as T);
          } else if (msg.type === 'error' || (msg.type === undefined && msg.error !== undefined)) {
            // A stream line {type: "error", error: {...}}, or a plain error answer (400, 401).
            done = true;
            reject(toKilnError(msg));
          }
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            handle(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
        const cut = (): KilnError => new KilnError('SERVER_UNREACHABLE', 'the control plane closed the connection before the operation finished', { hint: 'see kiln status' });
        res.on('end', () => {
          if (buf) handle(buf);
          if (!done) reject(cut());
        });
        // A control plane killed mid-stream aborts the response: no 'end' comes. Without this the
        // promise never settled and the CLI exited 0 with no output, as if the operation succeeded.
        res.on('error', () => !done && reject(cut()));
        res.on('close', () => !done && !res.complete && reject(cut()));
      }, reject);
    });
  }
}
