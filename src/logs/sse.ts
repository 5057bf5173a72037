// GET /v1/logs/stream: `kiln logs -f` for a browser, as Server-Sent Events. Each `line` message is
// one stored line (id = its id): first the newest `limit` matching lines, then every new one. A
// reconnecting EventSource sends Last-Event-ID and gets only the lines after it, none twice.
import type http from 'node:http';
import { followLogs, lineToJson, queryLogs } from './query.js';
import type { LogStore } from './store.js';
import type { KnownSubjects } from './subjects.js';
import { checkedFilter } from './api.js';
import { openSse, resumeAfter } from '../server/sse.js';

export async function serveLogStream(store: LogStore, q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse, known?: () => KnownSubjects): Promise<void> {
  const filter = checkedFilter(store, q, known);
  const resume = resumeAfter(req);
  // Both reads are synchronous: no line is stored between them (as in api.ts).
  const newest = store.maxId();
  const backlog = resume === undefined ? queryLogs(store, filter) : [];
  const sse = openSse(res);
  try {
    for (const l of backlog) await sse.send('line', lineToJson(l), l.id);
    const after = resume ?? Math.max(newest, backlog.at(-1)?.id ?? 0);
    for await (const l of followLogs(store, { ...filter, afterId: after }, { signal: sse.signal })) await sse.send('line', lineToJson(l), l.id);
  } catch (e) {
    if (!sse.signal.aborted) throw e;
  } finally {
    if (!res.writableEnded) res.end();
  }
}
