// The CLI's side of GET /v1/logs: one answer, or a followed NDJSON stream over the control
// plane's unix socket (with the token from .kiln/run/token), until the signal aborts.
import http from 'node:http';
import { existsSync } from 'node:fs';
import { KilnError, errorFromJSON } from '../errors.js';
import { runPaths } from '../server/paths.js';
import { readToken } from '../store/token.js';
import type { LogLineJson } from './query.js';

export function followLogsApi(kilnDir: string, query: URLSearchParams, onLine: (l: LogLineJson) => void, signal: AbortSignal): Promise<void> {
  const p = runPaths(kilnDir);
  if (!existsSync(p.apiSocket)) {
    throw new KilnError('SERVER_UNREACHABLE', 'no control plane is running for this project', { hint: 'start one with `kiln server`' });
  }
  const q = new URLSearchParams(query);
  q.set('follow', '1');
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: p.apiSocket, method: 'GET', path: `/v1/logs?${q}`, agent: false, headers: { authorization: `Bearer ${readToken(kilnDir)}` }, signal },
      (res) => {
        let buf = '';
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          res.on('data', (c: string) => (buf += c));
          res.on('end', () => reject(errorFrom(buf, res.statusCode)));
          return;
        }
        res.on('data', (c: string) => {
          buf += c;
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line.trim()) onLine(JSON.parse(line) as LogLineJson);
          }
        });
        res.on('end', () =>
          signal.aborted ? resolve() : reject(new KilnError('SERVER_UNREACHABLE', 'the control plane closed the log stream', { hint: 'is `kiln server` still running?' })),
        );
        res.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (signal.aborted) resolve();
      else if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') reject(new KilnError('SERVER_UNREACHABLE', `the control plane does not answer on ${p.apiSocket}`, { hint: 'start it with `kiln server`' }));
      else reject(e);
    });
    req.end();
  });
}

function errorFrom(text: string, status: number | undefined): Error {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return errorFromJSON(body) ?? new Error(`control plane answered ${status}: ${text.slice(0, 200)}`);
}
