// GET /v1/logs for the control plane's API. Without follow: {"lines": [LogLineJson, ...]}, the
// newest `limit` matching lines, oldest first. With follow=1: NDJSON, one LogLineJson per line —
// first those same lines, then every new matching line as it is stored, until the client goes.
// Query parameters: env, cluster, group, server, stream, service, role, project, since, until
// (ISO time or a duration such as 10m), grep (substring or /regex/flags), limit, after (an id).
import { once } from 'node:events';
import type http from 'node:http';
import { followLogs, lineToJson, logFilterFromQuery, queryLogs, type LogFilter, type LogLineJson } from './query.js';
import type { LogStore } from './store.js';
import { checkSubjects, mergeSubjects, subjectsInStore, type KnownSubjects } from './subjects.js';

export interface LogsResponse {
  lines: LogLineJson[];
}

/**
 * The filter of a query, checked: bad parameters, and an environment, cluster, build or server
 * that neither the store nor `known` (the run side's state) has, are KilnErrors. `known` is read
 * only when the store has no line of the named subjects: listing every group and server of a
 * long history is the price of an error message, not of every `kiln logs` (issue 15).
 */
export function checkedFilter(store: LogStore, q: URLSearchParams, known?: () => KnownSubjects): LogFilter {
  const filter = logFilterFromQuery(q);
  if (filter.env !== undefined || filter.cluster !== undefined || filter.group !== undefined || filter.server !== undefined) {
    if (!store.hasSubjects(filter)) checkSubjects(filter, known ? mergeSubjects(subjectsInStore(store), known()) : subjectsInStore(store));
  }
  return filter;
}

/** GET /v1/logs without follow, or the same read of a local store: {"lines": [...]} */
export function readLogs(store: LogStore, q: URLSearchParams, known?: () => KnownSubjects): LogsResponse {
  return { lines: queryLogs(store, checkedFilter(store, q, known)).map(lineToJson) };
}

export async function serveLogs(store: LogStore, q: URLSearchParams, _req: http.IncomingMessage, res: http.ServerResponse, known?: () => KnownSubjects): Promise<void> {
  // Bad parameters throw a KilnError before anything is written: the API answers 400.
  const filter = checkedFilter(store, q, known);
  const follow = q.get('follow') === '1' || q.get('follow') === 'true';
  // Both reads are synchronous: no line can be stored between them, so none is missed or repeated.
  const newest = store.maxId();
  const lines = queryLogs(store, filter);
  if (!follow) {
    const body = JSON.stringify({ lines: lines.map(lineToJson) } satisfies LogsResponse);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const ac = new AbortController();
  // 'close' on the response: the client went away (or we ended it).
  res.on('close', () => ac.abort());
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  const write = async (l: LogLineJson): Promise<void> => {
    if (!res.write(JSON.stringify(l) + '\n')) await once(res, 'drain', { signal: ac.signal });
  };
  try {
    for (const l of lines) await write(lineToJson(l));
    const after = Math.max(newest, lines.at(-1)?.id ?? 0);
    for await (const l of followLogs(store, { ...filter, afterId: after }, { signal: ac.signal })) await write(lineToJson(l));
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    if (!res.writableEnded) res.end();
  }
}
