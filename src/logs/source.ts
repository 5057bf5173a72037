// One followed log path. A path can name several files over time: rotation by rename gives it a
// new inode while the writer may still append to the old one, so the old file is kept open and
// read to its end ("finished") before it is let go. Files are identified by device + inode; all
// reads are positional (pread), so the read position is explicit and matches the saved offset.
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { LineSplitter } from './lines.js';
import type { LineRun, OffsetRow } from './store.js';
import type { LogTags } from './types.js';

export interface FileState {
  fd: number;
  dev: string;
  ino: string;
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
  warn(message: string): void;
}

type Key = Pick<OffsetRow, 'path' | 'dev' | 'ino'>;

export class FollowedSource {
  current: FileState | null = null;
  /** Rotated-away files still being finished. */
  olds: FileState[] = [];
  /** Removed from the sources: read everything, then let go. */
  draining = false;
  /** Offsets rows to delete with the next batch (finished rotated files). */
  finished: Key[] = [];
  /** Set once a draining source has been read to its end; the tailer then drops it. */
  closed = false;
  /** The offsets rows last committed (JSON), to skip writing unchanged ones. */
  lastSaved = '';
  private opened = false;
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
        closeQuietly(this.current.fd);
      }
      this.closed = true;
    }
    return total;
  }

  /** Offsets rows that cover what was read (to save with the lines). */
  offsetRows(): OffsetRow[] {
    const rows: OffsetRow[] = [];
    for (const f of [...this.olds, ...(this.current ? [this.current] : [])]) {
      rows.push({ path: this.path, dev: f.dev, ino: f.ino, offset: f.pos - f.splitter.pendingBytes, tag: this.tag, done: this.closed });
    }
    return rows;
  }

  /** Forgets all open files; the next read reopens from the saved offsets (after a failed commit). */
  reset(): void {
    for (const f of [...this.olds, ...(this.current ? [this.current] : [])]) closeQuietly(f.fd);
    this.olds = [];
    this.current = null;
    this.finished = [];
    this.closed = false;
    this.opened = false;
    this.lastSaved = '';
  }

  close(): void {
    this.reset();
  }

  private openFromSaved(saved: readonly OffsetRow[], now: number): void {
    const cur = this.openPath();
    for (const row of saved) {
      if (cur && row.dev === cur.dev && row.ino === cur.ino) {
        cur.pos = row.offset;
        continue;
      }
      // A file this path had before a restart: it was rotated away (or deleted) since. Find it by
      // inode next to the path and finish it from its saved offset.
      const found = findByInode(path.dirname(this.path), row.dev, row.ino);
      if (found === null) {
        this.warn(`${this.path}: the file read before (inode ${row.ino}) is gone; lines written to it after offset ${row.offset} could not be read`);
        this.finished.push({ path: this.path, dev: row.dev, ino: row.ino });
        continue;
      }
      let f: FileState | null = null;
      try {
        f = this.openFile(found);
      } catch {
        f = null;
      }
      if (!f || f.dev !== row.dev || f.ino !== row.ino) {
        if (f) closeQuietly(f.fd);
        this.finished.push({ path: this.path, dev: row.dev, ino: row.ino });
        continue;
      }
      f.pos = row.offset;
      f.rotatedAt = now;
      this.olds.push(f);
    }
    this.current = cur;
    if (cur) this.checkTruncated(cur, []);
  }

  /** Notices rotation (a different inode at the path, or none) and truncation. */
  private checkPath(out: LineRun[], now: number): void {
    let st: { dev: string; ino: string } | null = null;
    try {
      const s = statSync(this.path, { bigint: true });
      st = { dev: String(s.dev), ino: String(s.ino) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`${this.path}: ${(e as Error).message}`);
    }
    const cur = this.current;
    if (cur && (st === null || st.dev !== cur.dev || st.ino !== cur.ino)) {
      // Renamed away or deleted: the writer may still append through its open file; keep reading.
      cur.rotatedAt = now;
      this.olds.push(cur);
      this.current = null;
    }
    if (!this.current && st) this.current = this.openPath();
    else if (this.current) this.checkTruncated(this.current, out);
  }

  private checkTruncated(f: FileState, out: LineRun[]): void {
    let size: number;
    try {
      size = fstatSync(f.fd).size;
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
      return this.openFile(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`${this.path}: ${(e as Error).message}`);
      return null;
    }
  }

  private readFile(f: FileState, out: LineRun[], budget: number): number {
    const buf = this.cfg.readBuffer;
    let total = 0;
    f.atEof = false;
    while (total < budget) {
      let n: number;
      try {
        n = readSync(f.fd, buf, 0, buf.length, f.pos);
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
    return total;
  }

  private lines(f: FileState, out: LineRun[], flush: boolean, chunk?: Buffer): void {
    const texts: string[] = [];
    if (chunk) f.splitter.push(chunk, texts);
    if (flush) f.splitter.flush(texts);
    if (texts.length) out.push({ tag: this.tag, texts });
  }

  private finish(f: FileState, out: LineRun[]): void {
    this.lines(f, out, true);
    closeQuietly(f.fd);
    this.olds = this.olds.filter((o) => o !== f);
    this.finished.push({ path: this.path, dev: f.dev, ino: f.ino });
  }

  private warn(m: string): void {
    if (this.warned.has(m)) return;
    this.warned.add(m);
    this.cfg.warn(m);
  }

  /** Opens `file` and identifies it by the inode actually opened (not a stat of the path before). */
  private openFile(file: string): FileState {
    const fd = openSync(file, 'r');
    try {
      const s = fstatSync(fd, { bigint: true });
      return { fd, dev: String(s.dev), ino: String(s.ino), pos: 0, splitter: new LineSplitter(this.cfg.maxLineBytes), atEof: false };
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
  }
}

/** The file in `dir` with this device and inode, or null. */
export function findByInode(dir: string, dev: string, ino: string): string | null {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  for (const name of names) {
    const p = path.join(dir, name);
    try {
      const s = statSync(p, { bigint: true });
      if (s.isFile() && String(s.dev) === dev && String(s.ino) === ino) return p;
    } catch {
      // raced with a delete: not it
    }
  }
  return null;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
