// Helpers for the logs tests (not used by kiln itself).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogStore, type LineRun } from './store.js';
import type { LogSource, LogStream, LogTags } from './types.js';

export function tags(server: string, stream: LogStream = 'log', over: Partial<LogTags> = {}): LogTags {
  return { project: 'shop', env: 'dev', service: 'web', role: 'http', cluster: 'web-http-dev', group: 'web-http-dev-v001', server, stream, ...over };
}

export function source(dir: string, server: string, stream: LogStream = 'log', over: Partial<LogTags> = {}): LogSource {
  const t = tags(server, stream, over);
  return { path: path.join(dir, `${server}.${stream}`), tags: t };
}

export interface TempLogs {
  dir: string;
  dbFile: string;
  open(): LogStore;
  cleanup(): void;
}

export function tempLogs(): TempLogs {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-logs-'));
  const dbFile = path.join(dir, 'logs.db');
  const opened: LogStore[] = [];
  return {
    dir,
    dbFile,
    open() {
      const s = LogStore.open(dbFile);
      opened.push(s);
      return s;
    },
    cleanup() {
      for (const s of opened) s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` with fresh temporary logs, closed and removed afterwards whatever happens. */
export async function withLogs(fn: (t: TempLogs) => Promise<void> | void): Promise<void> {
  const t = tempLogs();
  try {
    await fn(t);
  } finally {
    t.cleanup();
  }
}

/** Every stored text, in id order (optionally of one server). */
export function texts(store: LogStore, server?: string): string[] {
  const rows = server
    ? (store.db.prepare('SELECT text FROM lines WHERE server = ? ORDER BY id').all(server) as Array<{ text: string }>)
    : (store.db.prepare('SELECT text FROM lines ORDER BY id').all() as Array<{ text: string }>);
  return rows.map((r) => r.text);
}

/** Lines as the store takes them: consecutive lines of one tag become one run. */
export function lineRuns(lines: ReadonlyArray<{ tag: number; text: string }>): LineRun[] {
  const runs: LineRun[] = [];
  for (const l of lines) {
    const last = runs.at(-1);
    if (last && last.tag === l.tag) last.texts.push(l.text);
    else runs.push({ tag: l.tag, texts: [l.text] });
  }
  return runs;
}
