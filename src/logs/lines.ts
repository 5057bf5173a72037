// Splits the bytes of a log file into lines. Bytes after the last newline stay pending until
// their newline arrives (a writer may be half-way through a line). A line longer than
// maxLineBytes is stored as several rows, each but the last ending with CONTINUED, so one huge
// line never holds unbounded memory. Invalid UTF-8 becomes U+FFFD (TextDecoder's rule, via
// Buffer#toString) and NUL becomes U+FFFD too, because SQLite text functions stop at NUL.

/** Appended to every piece of an over-long line but the last. */
export const CONTINUED = ' [kiln: line continues]';

export const DEFAULT_MAX_LINE_BYTES = 256 * 1024;

const EMPTY = Buffer.alloc(0);

export class LineSplitter {
  private partial: Buffer = EMPTY;

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    if (maxLineBytes < 4) throw new Error('maxLineBytes must be at least 4');
  }

  /** Bytes read but not yet part of a complete line (not covered by the saved offset). */
  get pendingBytes(): number {
    return this.partial.length;
  }

  /** Adds bytes; complete lines are appended to `out`. `chunk` may be reused by the caller afterwards. */
  push(chunk: Buffer, out: string[]): void {
    let buf = chunk;
    let start = 0;
    if (this.partial.length) {
      const nl = chunk.indexOf(10);
      if (nl === -1 || this.partial.length + nl > this.maxLineBytes) {
        buf = Buffer.concat([this.partial, chunk]);
      } else {
        // Only the first line needs the pending bytes: join just that, not the whole chunk.
        const first = Buffer.concat([this.partial, chunk.subarray(0, nl)]);
        this.emit(first, 0, first.length, out);
        start = nl + 1;
      }
      this.partial = EMPTY;
    }
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl === -1) break;
      this.emit(buf, start, nl, out);
      start = nl + 1;
    }
    while (buf.length - start > this.maxLineBytes) {
      const cut = utf8Cut(buf, start, start + this.maxLineBytes);
      out.push(decode(buf, start, cut) + CONTINUED);
      start = cut;
    }
    // Copied: `chunk` is the caller's read buffer and will be overwritten.
    this.partial = start < buf.length ? Buffer.from(buf.subarray(start)) : EMPTY;
  }

  /** The file ended for good (removed source, rotated-away file): the pending bytes are a line. */
  flush(out: string[]): void {
    if (this.partial.length) this.emit(this.partial, 0, this.partial.length, out);
    this.partial = EMPTY;
  }

  /** Forgets pending bytes (they will be read again from the saved offset). */
  reset(): void {
    this.partial = EMPTY;
  }

  private emit(buf: Buffer, s: number, e: number, out: string[]): void {
    if (e > s && buf[e - 1] === 13) e--; // CRLF
    while (e - s > this.maxLineBytes) {
      const cut = utf8Cut(buf, s, s + this.maxLineBytes);
      out.push(decode(buf, s, cut) + CONTINUED);
      s = cut;
    }
    out.push(decode(buf, s, e));
  }
}

/** A cut point at or before `end` that does not split a UTF-8 character (always > start). */
function utf8Cut(buf: Buffer, start: number, end: number): number {
  let cut = end;
  // Continuation bytes are 10xxxxxx; a character is at most 4 bytes, so back off at most 3.
  for (let i = 0; i < 3 && cut > start + 1 && ((buf[cut] ?? 0) & 0xc0) === 0x80; i++) cut--;
  return cut;
}

function decode(buf: Buffer, s: number, e: number): string {
  const text = buf.toString('utf8', s, e);
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}
