// Resume points of sources read through an API rather than from a file (a Kubernetes pod's log):
// per source, the newest stored timestamp (ns, as a decimal string: it does not fit a double)
// and how many stored lines carry it. The table lives in logs.db and each cursor is written in
// the same transaction as the lines it covers, like a file's offset (store.ts): after a kill -9
// the store holds exactly the lines up to the saved cursor.
import type { ResumeCursor } from '../runtime/kubernetes/pod-log-lines.js';
import type { PodLogSink } from '../runtime/kubernetes/pod-logs.js';
import type { LogStore } from './store.js';
import type { LogTags } from './types.js';

// IF NOT EXISTS: an older logs.db gets the table on first use; no schema version to bump, as
// nothing else reads it.
const TABLE = 'CREATE TABLE IF NOT EXISTS stream_cursors (source TEXT PRIMARY KEY, ts TEXT NOT NULL, n INTEGER NOT NULL)';

export class StreamCursors implements PodLogSink {
  private readonly stmts;

  constructor(private readonly store: LogStore) {
    store.db.exec(TABLE);
    this.stmts = {
      get: store.db.prepare('SELECT ts, n FROM stream_cursors WHERE source = ?'),
      set: store.db.prepare('INSERT INTO stream_cursors(source, ts, n) VALUES (?, ?, ?) ON CONFLICT(source) DO UPDATE SET ts = excluded.ts, n = excluded.n'),
      list: store.db.prepare('SELECT source FROM stream_cursors WHERE substr(source, 1, ?) = ?').pluck(),
      delete: store.db.prepare('DELETE FROM stream_cursors WHERE source = ?'),
    };
  }

  cursor(source: string): ResumeCursor | null {
    const r = this.stmts.get.get(source) as { ts: string; n: number } | undefined;
    return r ? { ts: BigInt(r.ts), n: r.n } : null;
  }

  append(source: string, tags: LogTags, texts: string[], cursor: ResumeCursor): void {
    const tag = this.store.tagId(tags);
    // The store's own transaction nests as a savepoint: lines and cursor commit together.
    this.store.db.transaction(() => {
      this.store.append([{ tag, texts }], []);
      this.stmts.set.run(source, cursor.ts.toString(), cursor.n);
    })();
  }

  forget(prefix: string, keep: ReadonlySet<string>): void {
    for (const s of this.stmts.list.all(prefix.length, prefix) as string[]) if (!keep.has(s)) this.stmts.delete.run(s);
  }
}
