// Reading the log store: filter by any tag, time and text (`kiln logs`, GET /v1/logs), follow new
// lines as they arrive, and print a line for people or as JSON.
import { on } from 'node:events';
import { KilnError } from '../errors.js';
import type { ChunkRow, LogStore } from './store.js';
import { escapeForTerminal } from './terminal.js';
import { parseTimeArg } from './time.js';
import { LOG_STREAMS, type LogLine, type LogStream, type LogTags } from './types.js';

export interface LogFilter {
  project?: string;
  env?: string;
  service?: string;
  role?: string;
  cluster?: string;
  group?: string;
  server?: string;
  stream?: LogStream;
  since?: Date;
  until?: Date;
  /** A substring (case-sensitive), or /regex/flags. */
  grep?: string;
  /** At most this many lines (default 1000): the newest ones, unless afterId is given. */
  limit?: number;
  /** Only lines after this id, oldest first (paging, following). */
  afterId?: number;
}

export const DEFAULT_LIMIT = 1000;
const TAG_COLUMNS: Array<[keyof LogFilter, string]> = [
  ['project', 'project'], ['env', 'env'], ['service', 'service'], ['role', 'role'],
  ['cluster', 'cluster'], ['group', 'grp'], ['server', 'server'], ['stream', 'stream'],
];


/** Lines matching `filter`, oldest first. */
export function queryLogs(store: LogStore, filter: LogFilter = {}): LogLine[] {
  // -n 0 (e.g. with -f: only new lines) asks for none.
  if (filter.limit === 0) return [];
  const tags = matchingTags(store, filter);
  if (tags.size === 0) return [];
  const where: string[] = [];
  const args: Array<string | number> = [];
  if (hasTagFilter(filter)) where.push(`tag IN (${[...tags.keys()].join(',')})`);
  if (filter.since) (where.push('ts >= ?'), args.push(filter.since.getTime()));
  if (filter.until) (where.push('ts < ?'), args.push(filter.until.getTime()));
  let match: ((text: string) => boolean) | null = null;
  if (filter.grep) {
    const re = parseGrep(filter.grep);
    const needle = filter.grep;
    if (re) match = (t) => re.test(t);
    else {
      // A chunk whose JSON holds no escaped form of the needle holds no line with it: skip it
      // without parsing (JSON escaping is per character, so this never misses a line).
      where.push('instr(texts, ?) > 0');
      args.push(JSON.stringify(needle).slice(1, -1));
      match = (t) => t.includes(needle);
    }
  }
  const after = filter.afterId;
  if (after !== undefined) (where.push('first_id >= ?'), args.push(store.chunkStart(after + 1)));
  const limit = Math.max(1, Math.min(filter.limit ?? DEFAULT_LIMIT, 1_000_000));
  // Without afterId: the newest `limit` lines (like tail), returned oldest first.
  const asc = after !== undefined;
  const sql = `SELECT first_id, n, ts, tag, texts FROM chunks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY first_id ${asc ? 'ASC' : 'DESC'}`;
  const out: LogLine[] = [];
  for (const c of store.db.prepare(sql).iterate(...args) as IterableIterator<ChunkRow>) {
    const t = tags.get(c.tag) ?? store.tagsOf(c.tag);
    if (!t) continue;
    const texts = JSON.parse(c.texts) as string[];
    if (asc) {
      for (let k = Math.max(0, after + 1 - c.first_id); k < texts.length && out.length < limit; k++) {
        if (!match || match(texts[k]!)) out.push({ id: c.first_id + k, ts: c.ts, ...t, text: texts[k]! });
      }
    } else {
      for (let k = texts.length - 1; k >= 0 && out.length < limit; k--) {
        if (!match || match(texts[k]!)) out.push({ id: c.first_id + k, ts: c.ts, ...t, text: texts[k]! });
      }
    }
    if (out.length >= limit) break;
  }
  if (!asc) out.reverse();
  return out;
}

export interface FollowOptions {
  signal: AbortSignal;
  /** How often to look for new lines when nothing wakes the follower (ms). Default 250. */
  pollMs?: number;
}

/**
 * New lines matching `filter` as they arrive, until `signal` aborts. Starts after
 * filter.afterId, else after the newest line now stored. A tailer in the same process wakes the
 * follower at once; otherwise it polls.
 */
export async function* followLogs(store: LogStore, filter: LogFilter, opts: FollowOptions): AsyncGenerator<LogLine, void, undefined> {
  let cursor = filter.afterId ?? store.maxId();
  const pollMs = opts.pollMs ?? 250;
  const page = 1000;
  while (!opts.signal.aborted) {
    const lines = queryLogs(store, { ...filter, afterId: cursor, limit: page, until: undefined });
    for (const l of lines) {
      if (opts.signal.aborted) return;
      cursor = l.id;
      yield l;
    }
    if (filter.until && Date.now() >= filter.until.getTime()) return;
    if (lines.length < page && !opts.signal.aborted) await wake(store, pollMs, opts.signal);
  }
}

/** Resolves on the next append to the store, after `ms`, or on abort, whichever comes first. */
async function wake(store: LogStore, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  signal.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(stop, ms);
  try {
    for await (const _ of on(store.events, 'append', { signal: ac.signal })) break;
  } catch {
    // aborted: timer or caller
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
}

/** The JSON form of a line (GET /v1/logs, `kiln logs --json`): ts as an ISO time. */
export interface LogLineJson extends LogTags {
  id: number;
  ts: string;
  text: string;
}

export function lineToJson(l: LogLine): LogLineJson {
  return {
    id: l.id, ts: new Date(l.ts).toISOString(), project: l.project, env: l.env, service: l.service, role: l.role,
    cluster: l.cluster, group: l.group, server: l.server, stream: l.stream, text: l.text,
  };
}

/** One line for a terminal ("<time> <server> <stream> <text>"), or one JSON object. */
export function formatLogLine(line: LogLine | LogLineJson, json: boolean, opts: { terminal?: boolean } = {}): string {
  const j = typeof line.ts === 'number' ? lineToJson(line as LogLine) : (line as LogLineJson);
  if (json) return JSON.stringify(j);
  // On a terminal an app's text is shown, never obeyed (terminal.ts).
  return `${j.ts} ${j.server} ${j.stream.padEnd(6)} ${opts.terminal ? escapeForTerminal(j.text) : j.text}`;
}

/** A /regex/flags grep as a RegExp; null for a plain substring. Throws a KilnError if invalid. */
export function parseGrep(grep: string): RegExp | null {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(grep);
  if (!m) return null;
  try {
    return new RegExp(m[1]!, m[2]!.replace(/[gy]/g, ''));
  } catch (e) {
    throw new KilnError('USAGE', `--grep ${grep} is not a valid regular expression: ${(e as Error).message}`, {
      location: { flag: '--grep' },
      hint: 'without slashes around it, --grep matches a plain substring',
    });
  }
}

/** The filter given as query parameters (GET /v1/logs): tags, since/until (ISO or duration), grep, limit, after. */
export function logFilterFromQuery(q: URLSearchParams, now: number = Date.now()): LogFilter {
  const f: LogFilter = {};
  for (const [key] of TAG_COLUMNS) {
    const v = q.get(key);
    if (v) (f as Record<string, string>)[key] = v;
  }
  if (f.stream && !LOG_STREAMS.includes(f.stream)) {
    throw new KilnError('USAGE', `stream ${JSON.stringify(f.stream)} is not one of ${LOG_STREAMS.join(', ')}`, { location: { flag: '--stream' } });
  }
  const since = q.get('since');
  const until = q.get('until');
  if (since) f.since = parseTimeArg(since, '--since', now);
  if (until) f.until = parseTimeArg(until, '--until', now);
  const grep = q.get('grep');
  if (grep) {
    parseGrep(grep);
    f.grep = grep;
  }
  for (const key of ['limit', 'after'] as const) {
    const v = q.get(key);
    if (v === null) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new KilnError('USAGE', `${key} must be a whole number, not ${JSON.stringify(v)}`, { location: { flag: `--${key}` } });
    if (key === 'limit') f.limit = n;
    else f.afterId = n;
  }
  return f;
}

function hasTagFilter(f: LogFilter): boolean {
  return TAG_COLUMNS.some(([k]) => f[k] !== undefined);
}

/** Tag rows matching the tag part of the filter (the tags table is small: a few rows per server). */
function matchingTags(store: LogStore, f: LogFilter): Map<number, LogTags> {
  const where: string[] = [];
  const args: string[] = [];
  for (const [key, col] of TAG_COLUMNS) {
    const v = f[key];
    if (typeof v === 'string') (where.push(`${col} = ?`), args.push(v));
  }
  const rows = store.db.prepare(`SELECT * FROM tags ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`).all(...args) as Array<
    Omit<LogTags, 'group'> & { id: number; grp: string }
  >;
  return new Map(rows.map((r) => [r.id, { project: r.project, env: r.env, service: r.service, role: r.role, cluster: r.cluster, group: r.grp, server: r.server, stream: r.stream }]));
}
