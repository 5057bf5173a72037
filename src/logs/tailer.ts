// Follows every server's log file, stdout and stderr into the log store. The control plane owns
// one LogTailer and tells it which files exist (setSources) as servers come and go. It polls
// (fs.watch on the directories only makes a poll come sooner) and commits lines in batches, each
// batch in one transaction with the offsets it covers: a kill -9 at any point loses nothing and
// duplicates nothing, because a restart resumes exactly at the saved offsets.
// Descriptors: each open file is a LogFile owned by one FollowedSource (safe-open.ts), and every
// read and close happens inside the poll chain (stop() waits for it), so no descriptor is read
// after its close or closed twice — a closed source is never read again, even in later rounds
// of the same poll.
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DEFAULT_MAX_LINE_BYTES } from './lines.js';
import { FollowedSource } from './source.js';
import type { LineRun, LogStore, OffsetRow } from './store.js';
import type { LogSource, LogTags } from './types.js';

export interface LogTailerOptions {
  /** How often every file is checked (ms). Default 250. */
  pollMs?: number;
  /** Lines per transaction. Default 5000. */
  batchLines?: number;
  /** Longer lines are stored in pieces (see lines.ts). Default 256 KiB. */
  maxLineBytes?: number;
  /** How long a rotated-away file is still read after it went quiet (ms). Default 2000. */
  rotationGraceMs?: number;
  /** Use fs.watch as a hint to poll sooner. Default true. */
  watch?: boolean;
  /** Problems worth telling the operator about (a file that cannot be read); never fatal. */
  onWarning?: (message: string) => void;
  /**
   * Something that is not a regular file (a link, a FIFO, a device) where a server's log file
   * should be: skipped. Also stored as a line of the server's `kiln` stream.
   */
  onSkipped?: (message: string, tags: LogTags) => void;
  /** Directory below which no link is followed (.kiln/logs); default each file's own directory. */
  root?: string;
  /** Told of every batch just committed, with the commit's time (ms): metrics count lines and lag. */
  onStored?: (runs: readonly LineRun[], at: number) => void;
}

const READ_CHUNK = 1 << 20;
/** Bytes read from one source before moving on to the next, so one busy file can't starve the rest. */
const SOURCE_BUDGET = 4 << 20;

export class LogTailer {
  private readonly sources = new Map<string, FollowedSource>();
  private readonly opts: Required<Omit<LogTailerOptions, 'onWarning' | 'onSkipped' | 'root' | 'onStored'>> &
    Pick<LogTailerOptions, 'root' | 'onStored'> & { onWarning: (m: string) => void; onSkipped: (m: string, t: LogTags) => void };
  /** The paths last given to setSources: a source that closed while listed again is followed anew. */
  private wanted = new Map<string, LogTags>();
  /** Lines about skipped files (stream `kiln`), stored with the next batch. */
  private readonly meta: LineRun[] = [];
  private readonly readBuffer = Buffer.allocUnsafe(READ_CHUNK);
  private savedByPath = new Map<string, OffsetRow[]>();
  private orphansAdopted = false;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly watchers = new Map<string, FSWatcher>();

  constructor(private readonly store: LogStore, opts: LogTailerOptions = {}) {
    this.opts = {
      pollMs: opts.pollMs ?? 250,
      batchLines: opts.batchLines ?? 5000,
      maxLineBytes: opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
      rotationGraceMs: opts.rotationGraceMs ?? 2000,
      watch: opts.watch ?? true,
      onWarning: opts.onWarning ?? (() => {}),
      onSkipped: opts.onSkipped ?? (() => {}),
      ...(opts.root !== undefined ? { root: opts.root } : {}),
      ...(opts.onStored !== undefined ? { onStored: opts.onStored } : {}),
    };
  }

  /**
   * The complete set of files to follow. A path no longer listed is read to its end (its last
   * line too, even without a newline) and then let go; a new path is read from its saved offset,
   * or from its beginning.
   */
  setSources(sources: ReadonlyArray<LogSource>): void {
    const wanted = new Map(sources.map((s) => [path.resolve(s.path), s.tags] as const));
    this.wanted = wanted;
    for (const [p, src] of this.sources) if (!wanted.has(p)) src.draining = true;
    for (const [p, tags] of wanted) {
      const src = this.sources.get(p);
      if (src) {
        src.draining = false;
        src.tags = tags;
        src.tag = this.store.tagId(tags);
      } else this.add(p, tags);
    }
    this.syncWatchers();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.syncWatchers();
    this.schedule(0);
  }

  /** Stops polling and closes every file. What was committed stays; nothing pending is lost (it is re-read). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.chain.catch(() => {});
    for (const src of this.sources.values()) src.close();
  }

  /** Reads everything available now into the store. Returns the number of lines stored. */
  pollOnce(): Promise<number> {
    const run = this.chain.catch(() => {}).then(() => this.poll());
    this.chain = run;
    return run;
  }

  private add(p: string, tags: LogTags): FollowedSource {
    const src: FollowedSource = new FollowedSource(p, tags, this.store.tagId(tags), {
      maxLineBytes: this.opts.maxLineBytes,
      rotationGraceMs: this.opts.rotationGraceMs,
      readBuffer: this.readBuffer,
      ...(this.opts.root !== undefined ? { root: this.opts.root } : {}),
      warn: (m) => this.opts.onWarning(m),
      skipped: (m) => {
        this.meta.push({ tag: this.store.tagId({ ...src.tags, stream: 'kiln' }), texts: [`kiln: ${m}`] });
        this.opts.onSkipped(m, src.tags);
      },
    });
    this.sources.set(p, src);
    return src;
  }

  private async poll(): Promise<number> {
    this.savedByPath = groupByPath(this.store.offsets());
    if (!this.orphansAdopted) this.adoptOrphans();
    const batch: LineRun[] = [];
    const touched = new Set<FollowedSource>();
    let stored = 0;
    try {
      // Rounds over the sources until none has more: each gets SOURCE_BUDGET bytes per round.
      for (let more = true; more; ) {
        more = false;
        for (const src of [...this.sources.values()]) {
          // Read to its end and let go: its files are closed, nothing of it is touched again.
          if (src.closed) continue;
          touched.add(src);
          let budget = SOURCE_BUDGET;
          for (;;) {
            const n = src.read(batch, READ_CHUNK, this.savedByPath.get(src.path) ?? [], Date.now());
            budget -= n;
            if (countLines(batch) >= this.opts.batchLines) {
              stored += this.commit(batch, touched);
              await yieldToLoop();
            }
            if (n < READ_CHUNK || src.closed) break;
            if (budget <= 0) {
              more = true;
              break;
            }
          }
        }
      }
      stored += this.commit(batch, touched);
    } catch (e) {
      // The batch was rolled back (disk full, database busy): forget what was read since the last
      // commit and start again from the saved offsets, so nothing is skipped.
      for (const src of this.sources.values()) src.reset();
      throw e;
    }
    for (const [p, src] of this.sources) {
      if (!src.closed) continue;
      this.sources.delete(p);
      // Listed again while it was being finished: follow it anew (from the offsets just saved).
      const tags = this.wanted.get(p);
      if (tags) this.add(p, tags);
    }
    this.syncWatchers();
    return stored;
  }

  private commit(batch: LineRun[], touched: Set<FollowedSource>): number {
    if (this.meta.length) batch.push(...this.meta.splice(0));
    const offsets: OffsetRow[] = [];
    const finished = [];
    const saved: Array<[FollowedSource, string]> = [];
    for (const src of touched) {
      // Only offsets that moved are written: an idle poll costs no transaction.
      const rows = src.offsetRows();
      const key = JSON.stringify(rows);
      if (key !== src.lastSaved) {
        offsets.push(...rows);
        saved.push([src, key]);
      }
      finished.push(...src.finished);
    }
    const n = countLines(batch);
    if (n === 0 && offsets.length === 0 && finished.length === 0) return 0;
    this.store.append(batch, offsets, finished);
    if (n > 0) {
      try {
        this.opts.onStored?.(batch, Date.now());
      } catch (e) {
        // Counting lines (metrics) must never stop storing them: the bookkeeping below must run.
        this.opts.onWarning(`counting stored log lines: ${(e as Error).message}`);
      }
    }
    for (const src of touched) src.finished = [];
    for (const [src, key] of saved) src.lastSaved = key;
    batch.length = 0;
    return n;
  }

  /** Files a previous control plane followed and nobody listed since: finish them so nothing written is lost. */
  private adoptOrphans(): void {
    this.orphansAdopted = true;
    for (const [p, rows] of this.savedByPath) {
      if (this.sources.has(p) || rows.every((r) => r.done)) continue;
      const tags = this.store.tagsOf(rows[0]!.tag);
      if (!tags) continue;
      this.add(p, tags).draining = true;
    }
  }

  private schedule(ms: number): void {
    if (!this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pollOnce()
        .catch((e: Error) => this.opts.onWarning(`log tailer: ${e.message}`))
        .finally(() => this.schedule(this.opts.pollMs));
    }, ms);
    this.timer.unref();
  }

  /** Watches the directories of the sources: a change makes the next poll come at once. */
  private syncWatchers(): void {
    if (!this.running || !this.opts.watch) return;
    const dirs = new Set([...this.sources.keys()].map((p) => path.dirname(p)));
    for (const [d, w] of this.watchers) {
      if (!dirs.has(d)) {
        w.close();
        this.watchers.delete(d);
      }
    }
    for (const d of dirs) {
      if (this.watchers.has(d)) continue;
      try {
        const w = watch(d, { persistent: false }, () => this.poke());
        w.on('error', () => {
          w.close();
          this.watchers.delete(d);
        });
        this.watchers.set(d, w);
      } catch {
        // The directory does not exist yet (no server wrote there): polling finds it later.
      }
    }
  }

  private poke(): void {
    if (!this.running || !this.timer) return;
    // Coalesce bursts of events: at most one early poll per 20 ms.
    clearTimeout(this.timer);
    this.timer = null;
    this.schedule(20);
  }
}

function countLines(batch: readonly LineRun[]): number {
  let n = 0;
  for (const r of batch) n += r.texts.length;
  return n;
}

function groupByPath(rows: OffsetRow[]): Map<string, OffsetRow[]> {
  const m = new Map<string, OffsetRow[]>();
  for (const r of rows) {
    const list = m.get(r.path);
    if (list) list.push(r);
    else m.set(r.path, [r]);
  }
  return m;
}
