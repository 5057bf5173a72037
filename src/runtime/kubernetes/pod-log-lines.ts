// Reading the pod log API's answer (`timestamps=true`): each line is "<RFC3339Nano> <text>".
// The timestamp is the kubelet's, one per line and stable across reads, so it is what a
// restarted control plane resumes from. Go's RFC3339Nano drops trailing zeros of the fraction
// and may carry an offset, so timestamps are compared as integers (ns since the epoch), never as
// strings. The apiserver's sinceTime has whole seconds only: the answer starts up to a second
// early, and the resume rule below skips what was stored already.

/** One line of a pod's log: the kubelet's timestamp (ns since the epoch) and the text. */
export interface TimestampedLine {
  ts: bigint;
  text: string;
}

/**
 * Where the store is for one pod: the newest stored timestamp and how many stored lines carry
 * exactly it (two lines can share a timestamp; a batch can end between them).
 */
export interface ResumeCursor {
  ts: bigint;
  n: number;
}

const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** ns since the epoch of an RFC3339(Nano) timestamp; null if it is not one. */
export function parseKubeTimestamp(text: string): bigint | null {
  const m = STAMP.exec(text);
  if (!m) return null;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return null;
  return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** The cursor's second, as sinceTime wants it (RFC3339, whole seconds, never after the cursor). */
export function sinceTimeOf(c: ResumeCursor): string {
  return new Date(Number(c.ts / 1_000_000_000n) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * Splits the streamed answer into lines. Bytes are split at "\n" before decoding, so a UTF-8
 * character cut by a chunk boundary is never mangled. A line without a timestamp (the kubelet
 * always sends one; this is defensive) gets the previous line's, so it is resumed with it.
 */
export class TimestampedLineSplitter {
  private rest: Buffer = Buffer.alloc(0);
  private lastTs = 0n;

  push(chunk: Buffer): TimestampedLine[] {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const out: TimestampedLine[] = [];
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      out.push(this.parse(buf.subarray(start, nl).toString('utf8')));
      start = nl + 1;
    }
    this.rest = Buffer.from(buf.subarray(start));
    return out;
  }

  /** At the end of a stream: the last line if it had no newline. */
  end(): TimestampedLine[] {
    const rest = this.rest;
    this.rest = Buffer.alloc(0);
    return rest.length ? [this.parse(rest.toString('utf8'))] : [];
  }

  private parse(line: string): TimestampedLine {
    const sp = line.indexOf(' ');
    const ts = sp > 0 ? parseKubeTimestamp(line.slice(0, sp)) : null;
    if (ts === null) return { ts: this.lastTs, text: line };
    this.lastTs = ts;
    return { ts, text: line.slice(sp + 1) };
  }
}

/**
 * The resume rule: after a restart, a line is new if its timestamp is after the cursor's, or
 * equal to it and past the `n` lines already stored with that timestamp. The kubelet returns a
 * pod's lines in the same order every time, so this stores each line once. `cursor` is where the
 * store is after the lines admitted so far.
 */
export class ResumeFilter {
  private seenAtCursorTs = 0;

  constructor(private stored: ResumeCursor | null) {}

  get cursor(): ResumeCursor | null {
    return this.stored;
  }

  /** Whether `line` is to be stored; if so, the cursor moves past it. */
  admit(line: TimestampedLine): boolean {
    const c = this.stored;
    if (c && line.ts < c.ts) return false;
    if (c && line.ts === c.ts) {
      if (this.seenAtCursorTs < c.n) {
        this.seenAtCursorTs++;
        return false;
      }
      this.stored = { ts: c.ts, n: c.n + 1 };
      this.seenAtCursorTs++;
      return true;
    }
    this.stored = { ts: line.ts, n: 1 };
    this.seenAtCursorTs = 1;
    return true;
  }
}
