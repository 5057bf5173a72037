// One followed log path. A path can name several files over time: rotation by rename gives it a
// new inode while the writer may still append to the old one, so the old file is kept open and
// read to its end ("finished") before it is let go. Files are identified by device + inode, and
// every file ever read is remembered by that identity with its offset (the offsets table), so
// a file renamed any number of times — while the tailer runs or while no control plane runs —
// is found again next to the path (rotated-siblings.ts) and read exactly from where it was left.
// All reads are positional (pread), so the read position is explicit and matches the saved
// offset. Files are opened only through safe-open.ts: never through a link, never a FIFO.
import path from 'node:path';
import { LineSplitter } from './lines.js';
import { isRotatedName, siblingFiles, type Sibling } from './rotated-siblings.js';
import { lstatLogPath, openLogFile, UnsafeLogFile, type FileId, type LogFile } from './safe-open.js';
import type { LineRun, OffsetRow } from './store.js';
import type { LogTags } from './types.js';

export interface FileState {
  file: LogFile;
  /** Next byte to read. The saved offset is pos minus the splitter's pending bytes. */
  pos: number;
  splitter: LineSplitter;
  /** When this file stopped being the one at the path (rotation), else undefined. */
  rotatedAt?: number;
  /** Whether the last read reached end of file. */
  atEof: boolean;
}

export interface SourceConfig {
  maxLineBytes: number;
  rotationGraceMs: number;
  readBuffer: Buffer;
  /** Directory below which no link is followed (.kiln/logs); default the path's own directory. */
  root?: string;
  warn(message: string): void;
  /** Something at the path (or next to it) that is not a regular file was skipped. */
  skipped(message: string): void;
}

type Key = Pick<OffsetRow, 'path' | 'dev' | 'ino'>;
const idOf = (f: FileId): string => `${f.dev}:${f.ino}`;

export class FollowedSource {
  current: FileState | null = null;
  /** Rotated-away files still being finished. */
  olds: FileState[] = [];
  /** Files of this path read to their end (rotated away), by dev:ino: they are never read again from 0. */
  private done = new Map<string, { dev: string; ino: string; offset: number }>();
  /** Removed from the sources: read everything, then let go. */
  draining = false;
  /** Offsets rows to delete with the next batch (files that are gone). */
  finished: Key[] = [];
  /** Set once a draining source has been read to its end; the tailer then drops it. Nothing is read after. */
  closed = false;
  /** The offsets rows last committed (JSON), to skip writing unchanged ones. */
  lastSaved = '';
  private opened = false;
  /**
   * What was refused at the path (device, inode, type and change time), so it is not retried
   * every poll. Not the inode alone: a plain file that replaces a removed link or FIFO often gets
   * the freed inode number, and must be read.
   */
  private refused: string | null = null;
  private readonly warned = new Set<string>();

  constructor(
    readonly path: string,
    public tags: LogTags,
    public tag: number,
    private readonly cfg: SourceConfig,
  ) {}

  /**
   * Reads what is there (olds first, then the current file) into `out`, at most about
   * `budget` bytes. `saved` are this path's offsets rows (used when (re)opening after a start
   * or a restart). Returns the bytes read; 0 means nothing more for now.
   */
  read(out: LineRun[], budget: number, saved: readonly OffsetRow[], now: number): number {
    if (this.closed) return 0;
    let total = 0;
    if (!this.opened) {
      this.openFromSaved(saved, now);
      this.opened = true;
    }
    // Rotation first, so the old file's last lines are stored before the new file's first ones.
    this.checkPath(out, now);
    for (const f of [...this.olds]) {
      total += this.readFile(f, out, budget - total);
      const graceOver = this.draining || now - (f.rotatedAt ?? now) >= this.cfg.rotationGraceMs;
      if (f.atEof && graceOver) this.finish(f, out);
      if (total >= budget) return total;
    }
    if (this.current) total += this.readFile(this.current, out, budget - total);
    if (this.draining && total < budget && (!this.current || this.current.atEof) && this.olds.length === 0) {
      if (this.current) {
        this.lines(this.current, out, true);
        this.current.file.close();
      }
      this.closed = true;
    }
    return total;
  }

  /** Offsets rows that cover what was read (to save with the lines). */
  offsetRows(): OffsetRow[] {
    const rows: OffsetRow[] = [];
    for (const f of [...this.olds, ...(this.current ? [this.current] : [])]) {
      rows.push({ path: this.path, dev: f.file.dev, ino: f.file.ino, offset: f.pos - f.splitter.pendingBytes, tag: this.tag, done: this.closed });
    }
    for (const d of this.done.values()) rows.push({ path: this.path, dev: d.dev, ino: d.ino, offset: d.offset, tag: this.tag, done: true });
    return rows;
  }

  /** Forgets all open files; the next read reopens from the saved offsets (after a failed commit). */
  reset(): void {
    for (const f of [...this.olds, ...(this.current ? [this.current] : [])]) f.file.close();
    this.olds = [];
    this.current = null;
    this.done.clear();
    this.finished = [];
    this.closed = false;
    this.opened = false;
    this.refused = null;
    this.lastSaved = '';
  }

  close(): void {
    this.reset();
  }

  private openFromSaved(saved: readonly OffsetRow[], now: number): void {
    const cur = this.openPath();
    const rows = new Map<string, OffsetRow>();
    for (const row of saved) {
      if (cur && row.dev === cur.file.dev && row.ino === cur.file.ino) cur.pos = row.offset;
      else rows.set(idOf(row), row);
    }
    this.current = cur;
    // The files this path had before (rotated away, perhaps several times, while nobody read
    // them) are found next to it by inode; files rotated in between that were never seen are
    // found by name and read from their beginning. On the very first follow (nothing saved),
    // rotated files already there are older than this follow: they are remembered, not read.
    const first = saved.length === 0;
    const olds: Array<{ f: FileState; s: Sibling }> = [];
    for (const s of this.siblings()) {
      if (cur && idOf(s) === idOf(cur.file)) continue;
      const row = rows.get(idOf(s));
      if (row) rows.delete(idOf(s));
      else if (!isRotatedName(path.basename(this.path), s.name)) continue;
      const offset = row ? row.offset : first ? s.size : 0;
      if (row?.done === true && s.size <= offset) {
        this.done.set(idOf(s), { dev: s.dev, ino: s.ino, offset });
        continue;
      }
      if (first) {
        this.done.set(idOf(s), { dev: s.dev, ino: s.ino, offset });
        continue;
      }
      const f = this.openSibling(s);
      if (!f) continue;
      f.pos = offset;
      f.rotatedAt = now;
      olds.push({ f, s });
    }
    for (const row of rows.values()) {
      if (!row.done) this.warn(`${this.path}: the file read before (inode ${row.ino}) is gone; lines written to it after offset ${row.offset} could not be read`);
      this.finished.push({ path: this.path, dev: row.dev, ino: row.ino });
    }
    this.olds.push(...olds.sort((a, b) => olderFirst(a.s, b.s)).map((o) => o.f));
    if (cur) this.checkTruncated(cur, []);
  }

  /** Notices rotation (a different inode at the path, or none) and truncation. */
  private checkPath(out: LineRun[], now: number): void {
    let st: { dev: string; ino: string } | null = null;
    let what: string | null = null;
    try {
      const s = lstatLogPath(this.path, this.cfg.root);
      if (s) (st = { dev: String(s.dev), ino: String(s.ino) }), (what = refusedId(s));
    } catch (e) {
      this.warn(`${this.path}: ${(e as Error).message}`);
    }
    const cur = this.current;
    if (cur && (st === null || st.dev !== cur.file.dev || st.ino !== cur.file.ino)) {
      // Renamed away or deleted: the writer may still append through its open file; keep reading.
      cur.rotatedAt = now;
      this.olds.push(cur);
      this.current = null;
    }
    if (!this.current && st && what !== this.refused) {
      this.current = this.openPath();
      // Rotated again before this poll saw it? Files renamed through the path in between are
      // next to it under a rotated name: read those (oldest first) before the new one.
      if (cur && cur !== this.current) this.adoptUnseenSiblings(now);
    } else if (this.current) this.checkTruncated(this.current, out);
  }

  /** Rotated files next to the path that this source has never read: followed from offset 0. */
  private adoptUnseenSiblings(now: number): void {
    const known = new Set([...this.olds.map((f) => idOf(f.file)), ...this.done.keys(), ...(this.current ? [idOf(this.current.file)] : [])]);
    const found: Array<{ f: FileState; s: Sibling }> = [];
    for (const s of this.siblings()) {
      if (known.has(idOf(s)) || !isRotatedName(path.basename(this.path), s.name)) continue;
      const f = this.openSibling(s);
      if (!f) continue;
      f.rotatedAt = now;
      found.push({ f, s });
    }
    this.olds.push(...found.sort((a, b) => olderFirst(a.s, b.s)).map((o) => o.f));
  }

  private siblings(): Sibling[] {
    const dir = path.dirname(this.path);
    return siblingFiles(dir, this.cfg.root, path.basename(this.path), (name, what) => this.skip(new UnsafeLogFile(path.join(dir, name), what).message));
  }

  private openSibling(s: Sibling): FileState | null {
    try {
      const f = this.openFile(path.join(path.dirname(this.path), s.name));
      if (idOf(f.file) === idOf(s)) return f;
      // Renamed again since the directory was listed: the next scan finds it.
      f.file.close();
      return null;
    } catch (e) {
      if (e instanceof UnsafeLogFile) this.skip(e.message);
      return null;
    }
  }

  private checkTruncated(f: FileState, out: LineRun[]): void {
    let size: number;
    try {
      size = f.file.size();
    } catch {
      return;
    }
    if (size < f.pos) {
      // Truncated in place (copytruncate): what was pending was the end of the old content.
      this.lines(f, out, true);
      f.pos = 0;
      f.atEof = false;
    }
  }

  private openPath(): FileState | null {
    try {
      const f = this.openFile(this.path);
      this.refused = null;
      return f;
    } catch (e) {
      if (e instanceof UnsafeLogFile) {
        this.skip(e.message);
        const st = lstatLogPath(this.path, this.cfg.root);
        this.refused = st ? refusedId(st) : null;
      } else if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`${this.path}: ${(e as Error).message}`);
      return null;
    }
  }

  private readFile(f: FileState, out: LineRun[], budget: number): number {
    const buf = this.cfg.readBuffer;
    let total = 0;
    const first = out.length;
    f.atEof = false;
    while (total < budget) {
      let n: number;
      try {
        n = f.file.read(buf, f.pos);
      } catch (e) {
        this.warn(`${this.path}: ${(e as Error).message}`);
        f.atEof = true;
        return total;
      }
      if (n === 0) {
        f.atEof = true;
        break;
      }
      f.pos += n;
      total += n;
      this.lines(f, out, false, buf.subarray(0, n));
    }
    // One fstat per read that found lines: their lag is measured from the file's last write.
    if (out.length > first) {
      try {
        const writtenAt = Number(f.file.modifiedNs() / 1_000_000n);
        for (let i = first; i < out.length; i++) out[i]!.writtenAt = writtenAt;
      } catch {
        // Not knowing when is no reason to lose the lines.
      }
    }
    return total;
  }

  private lines(f: FileState, out: LineRun[], flush: boolean, chunk?: Buffer): void {
    const texts: string[] = [];
    if (chunk) f.splitter.push(chunk, texts);
    if (flush) f.splitter.flush(texts);
    if (texts.length) out.push({ tag: this.tag, texts });
  }

  /** A rotated file read to its end: closed, and remembered (by inode, with its offset) as read. */
  private finish(f: FileState, out: LineRun[]): void {
    this.lines(f, out, true);
    f.file.close();
    this.olds = this.olds.filter((o) => o !== f);
    this.done.set(idOf(f.file), { dev: f.file.dev, ino: f.file.ino, offset: f.pos });
  }

  private warn(m: string): void {
    if (this.warned.has(m)) return;
    this.warned.add(m);
    this.cfg.warn(m);
  }

  private skip(m: string): void {
    if (this.warned.has(m)) return;
    this.warned.add(m);
    this.cfg.skipped(m);
  }

  /** Opens `file` (no links, regular files only) and identifies it by the inode actually opened. */
  private openFile(file: string): FileState {
    return { file: openLogFile(file, this.cfg.root), pos: 0, splitter: new LineSplitter(this.cfg.maxLineBytes), atEof: false };
  }
}

/** Oldest first: by modification time, then by a higher rotation number (app.log.3 before app.log.2). */
function olderFirst(a: Sibling, b: Sibling): number {
  if (a.mtimeNs !== b.mtimeNs) return a.mtimeNs < b.mtimeNs ? -1 : 1;
  return b.name.localeCompare(a.name, 'en', { numeric: true });
}

/** What a refused entry is: its identity and kind and when it last changed (see `refused`). */
function refusedId(st: { dev: bigint; ino: bigint; mode: bigint; ctimeNs: bigint }): string {
  return `${st.dev}:${st.ino}:${st.mode}:${st.ctimeNs}`;
}
