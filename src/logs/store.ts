// .kiln/logs.db: the central log store. It is its own SQLite database (WAL) so that log volume
// never slows state.db. Lines are stored against a small `tags` table (one row per server
// stream) so each line costs an integer, not eight repeated strings; the `lines` view shows
// them joined. A file's read offset is written in the same transaction as the lines it covers:
// after a kill -9 the store holds exactly the lines up to the saved offset, no more, no less.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { KilnError } from '../errors.js';
import type { LogLine, LogTags } from './types.js';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE tags (
  id      INTEGER PRIMARY KEY,
  project TEXT NOT NULL, env TEXT NOT NULL, service TEXT NOT NULL, role TEXT NOT NULL,
  cluster TEXT NOT NULL, grp TEXT NOT NULL, server TEXT NOT NULL, stream TEXT NOT NULL,
  UNIQUE (project, env, service, role, cluster, grp, server, stream)
);
-- Lines are stored in chunks: a run of consecutive lines of one source (one tags row) read in
-- one batch, as a JSON array. One row per line cost ~3 us of SQLite work each; a chunk row
-- spreads that over hundreds of lines. Every line still has its own id (first_id + index),
-- and the lines view below shows one row per line.
CREATE TABLE chunks (
  first_id INTEGER PRIMARY KEY,
  n        INTEGER NOT NULL,
  ts       INTEGER NOT NULL,
  tag      INTEGER NOT NULL REFERENCES tags(id),
  texts    TEXT NOT NULL
);
CREATE INDEX chunks_tag ON chunks(tag, first_id);
CREATE INDEX chunks_ts ON chunks(ts);
-- The next line id. It only grows, even when retention deleted every line, so an exporter's
-- cursor (the last id it sent) stays meaningful.
CREATE TABLE line_seq (next_id INTEGER NOT NULL);
INSERT INTO line_seq VALUES (1);
CREATE VIEW lines AS
  SELECT c.first_id + j.key AS id, c.ts, t.project, t.env, t.service, t.role, t.cluster, t.grp, t.server, t.stream, j.value AS text
  FROM chunks c JOIN tags t ON t.id = c.tag, json_each(c.texts) j;
-- One row per file (device + inode) a source path has had: during a rotation the old file and
-- the new one are both followed until the old one is finished.
CREATE TABLE offsets (
  path   TEXT NOT NULL,
  dev    TEXT NOT NULL,
  ino    TEXT NOT NULL,
  offset INTEGER NOT NULL,
  tag    INTEGER NOT NULL REFERENCES tags(id),
  -- 1 once the source was removed and read to its end: nobody writes it any more.
  done   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (path, dev, ino)
);
CREATE TABLE export_cursors (
  name    TEXT PRIMARY KEY,
  last_id INTEGER NOT NULL,
  sent    INTEGER NOT NULL DEFAULT 0,
  dropped INTEGER NOT NULL DEFAULT 0
);
`;

/** Where one file of a source was read up to. `dev`/`ino` are decimal strings (exact for 64-bit inodes). */
export interface OffsetRow {
  path: string;
  dev: string;
  ino: string;
  offset: number;
  tag: number;
  done: boolean;
}

/** Consecutive lines of one source (its tags row), in file order. */
export interface LineRun {
  tag: number;
  texts: string[];
  /** When the file was last written as these lines were read (ms): the start of their ingestion lag. */
  writtenAt?: number;
}

export interface ExportCursor {
  lastId: number;
  sent: number;
  dropped: number;
}

/** A row of the chunks table: `texts` is a JSON array of texts with ids first_id, first_id + 1, ... */
export interface ChunkRow {
  first_id: number;
  n: number;
  ts: number;
  tag: number;
  texts: string;
}

const CHUNK_LINES = 512;
const CHUNK_BYTES = 128 * 1024;
const UNKNOWN_TAGS: LogTags = { project: '?', env: '?', service: '?', role: '?', cluster: '?', group: '?', server: '?', stream: 'log' };

export function logStorePath(kilnDir: string): string {
  return path.join(kilnDir, 'logs.db');
}

export class LogStore {
  /** Emits 'append' (lastId) after each committed batch, so followers in this process wake at once. */
  readonly events = new EventEmitter();
  private readonly tagIds = new Map<string, number>();
  private readonly tagsById = new Map<number, LogTags>();
  private lastTs: number;
  private readonly stmts;

  private constructor(readonly db: BetterSqlite3.Database, readonly file: string) {
    this.events.setMaxListeners(0);
    this.stmts = {
      insert: db.prepare('INSERT INTO chunks(first_id, n, ts, tag, texts) VALUES (?, ?, ?, ?, ?)'),
      nextId: db.prepare('SELECT next_id FROM line_seq').pluck(),
      setNextId: db.prepare('UPDATE line_seq SET next_id = ?'),
      upsertOffset: db.prepare(
        `INSERT INTO offsets(path, dev, ino, offset, tag, done) VALUES (@path, @dev, @ino, @offset, @tag, @done)
         ON CONFLICT(path, dev, ino) DO UPDATE SET offset = excluded.offset, tag = excluded.tag, done = excluded.done`,
      ),
      deleteOffset: db.prepare('DELETE FROM offsets WHERE path = ? AND dev = ? AND ino = ?'),
      findTag: db.prepare('SELECT id FROM tags WHERE project=? AND env=? AND service=? AND role=? AND cluster=? AND grp=? AND server=? AND stream=?'),
      insertTag: db.prepare('INSERT INTO tags(project, env, service, role, cluster, grp, server, stream) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      chunkOf: db.prepare('SELECT MAX(first_id) FROM chunks WHERE first_id <= ?').pluck(),
      chunksFrom: db.prepare('SELECT first_id, n, ts, tag, texts FROM chunks WHERE first_id >= ? ORDER BY first_id'),
    };
    const row = db.prepare('SELECT MAX(ts) AS ts FROM chunks').get() as { ts: number | null };
    this.lastTs = row.ts ?? 0;
  }

  /** Opens (creating if needed) the store at `file`, usually logStorePath(kilnDir). */
  static open(file: string): LogStore {
    const db = new BetterSqlite3(file);
    try {
      // Must precede the first table: lets retention hand freed pages back to the file system.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      // NORMAL in WAL mode: a power loss may lose the last batches (and their offsets with them,
      // so they are read again), but never corrupts the database.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = OFF');
      migrate(db, file);
      return new LogStore(db, file);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  close(): void {
    this.events.removeAllListeners();
    if (this.db.open) this.db.close();
  }

  /** The id of a tag set, created on first use (a handful per server). */
  tagId(t: LogTags): number {
    const key = [t.project, t.env, t.service, t.role, t.cluster, t.group, t.server, t.stream].join('\0');
    const known = this.tagIds.get(key);
    if (known !== undefined) return known;
    const args = [t.project, t.env, t.service, t.role, t.cluster, t.group, t.server, t.stream];
    const row = this.stmts.findTag.get(...args) as { id: number } | undefined;
    const id = row ? row.id : Number(this.stmts.insertTag.run(...args).lastInsertRowid);
    this.tagIds.set(key, id);
    return id;
  }

  /**
   * Stores the lines of `runs` and moves the offsets that cover them, in one transaction: either both are
   * on disk or neither is. Returns the id of the last line stored (0 if none).
   */
  append(runs: readonly LineRun[], offsets: readonly OffsetRow[], finished: ReadonlyArray<Pick<OffsetRow, 'path' | 'dev' | 'ino'>> = []): number {
    // ts never decreases with id, even if the wall clock steps back: --since stays a clean cut.
    const ts = (this.lastTs = Math.max(this.lastTs, Date.now()));
    let count = 0;
    let last = 0;
    this.db.transaction(() => {
      // Read inside the transaction: ids stay unique even if another process appended.
      let next = this.stmts.nextId.get() as number;
      for (const run of runs) {
        const texts = run.texts;
        for (let i = 0; i < texts.length; ) {
          // Capped in lines and bytes, so a chunk stays cheap to read back.
          let end = i;
          let bytes = 0;
          while (end < texts.length && end - i < CHUNK_LINES && bytes < CHUNK_BYTES) bytes += texts[end++]!.length;
          const part = i === 0 && end === texts.length ? texts : texts.slice(i, end);
          this.stmts.insert.run(next, part.length, ts, run.tag, JSON.stringify(part));
          next += part.length;
          count += part.length;
          i = end;
        }
      }
      if (count) this.stmts.setNextId.run(next);
      last = next - 1;
      for (const o of offsets) this.stmts.upsertOffset.run({ ...o, done: o.done ? 1 : 0 });
      for (const f of finished) this.stmts.deleteOffset.run(f.path, f.dev, f.ino);
    })();
    if (count) this.events.emit('append', last);
    return count ? last : 0;
  }

  offsets(): OffsetRow[] {
    const rows = this.db.prepare('SELECT path, dev, ino, offset, tag, done FROM offsets ORDER BY path').all() as Array<Omit<OffsetRow, 'done'> & { done: number }>;
    return rows.map((r) => ({ ...r, done: r.done === 1 }));
  }

  tagsOf(id: number): LogTags | undefined {
    const known = this.tagsById.get(id);
    if (known) return known;
    const r = this.db.prepare('SELECT * FROM tags WHERE id = ?').get(id) as (Omit<LogTags, 'group'> & { grp: string }) | undefined;
    if (!r) return undefined;
    const t: LogTags = { project: r.project, env: r.env, service: r.service, role: r.role, cluster: r.cluster, group: r.grp, server: r.server, stream: r.stream };
    this.tagsById.set(id, t);
    return t;
  }

  /** The id of the newest line ever stored (0 if none). */
  /**
   * Whether some source of lines is tagged with every one of the named subjects (the checks of
   * `kiln logs --env/--cluster/--build/--server`): one probe of the tags table, LIMIT 1.
   */
  hasSubjects(f: { env?: string; cluster?: string; group?: string; server?: string }): boolean {
    const where: string[] = [];
    const args: string[] = [];
    for (const [column, value] of [['env', f.env], ['cluster', f.cluster], ['grp', f.group], ['server', f.server]] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      args.push(value);
    }
    if (!where.length) return true;
    return this.db.prepare(`SELECT 1 FROM tags WHERE ${where.join(' AND ')} LIMIT 1`).get(...args) !== undefined;
  }

  maxId(): number {
    return (this.stmts.nextId.get() as number) - 1;
  }

  /** first_id of the chunk holding line `id` (or of the last chunk before it), 0 if none. */
  chunkStart(id: number): number {
    return (this.stmts.chunkOf.get(id) as number | null) ?? 0;
  }

  /** Lines with id > afterId in id order: what exporters and followers read. */
  readAfter(afterId: number, limit: number): LogLine[] {
    const out: LogLine[] = [];
    const start = this.chunkStart(afterId + 1);
    for (const c of this.stmts.chunksFrom.iterate(start) as IterableIterator<ChunkRow>) {
      const t = this.tagsOf(c.tag);
      const texts = JSON.parse(c.texts) as string[];
      for (let k = Math.max(0, afterId + 1 - c.first_id); k < texts.length && out.length < limit; k++) {
        out.push({ id: c.first_id + k, ts: c.ts, ...(t ?? UNKNOWN_TAGS), text: texts[k]! });
      }
      if (out.length >= limit) break;
    }
    return out;
  }

  cursor(name: string): ExportCursor {
    const r = this.db.prepare('SELECT last_id, sent, dropped FROM export_cursors WHERE name = ?').get(name) as { last_id: number; sent: number; dropped: number } | undefined;
    return r ? { lastId: r.last_id, sent: r.sent, dropped: r.dropped } : { lastId: 0, sent: 0, dropped: 0 };
  }

  setCursor(name: string, c: ExportCursor): void {
    this.db
      .prepare('INSERT INTO export_cursors(name, last_id, sent, dropped) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET last_id = excluded.last_id, sent = excluded.sent, dropped = excluded.dropped')
      .run(name, c.lastId, c.sent, c.dropped);
  }
}

function migrate(db: BetterSqlite3.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new KilnError('CORRUPT_STORE', `${file} has log schema version ${version}, but this kiln only knows version ${SCHEMA_VERSION}`, {
      hint: 'a newer kiln wrote this store; upgrade kiln to use it',
    });
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    // Re-checked under the write lock: two processes opening a new store don't both create it.
    if ((db.pragma('user_version', { simple: true }) as number) === SCHEMA_VERSION) return;
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

export function openLogStore(kilnDir: string): LogStore {
  return LogStore.open(logStorePath(kilnDir));
}
