// The one place layer bytes are written: buffered, hashed as they go, fsynced at the end.
import fs from 'node:fs';
import crypto from 'node:crypto';
import type { Digest } from '../release/types.js';

/**
 * Buffered, hashing file writer: file contents are read from the input straight into the
 * output buffer (no intermediate copies), and the hash sees each flushed buffer once.
 */
export class LayerWriter {
  size = 0;
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(8 << 20);
  private used = 0;
  private readonly hash = crypto.createHash('sha256');
  private hex = '';

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w', 0o600);
  }

  put(b: Buffer): void {
    if (b.length === 0) return;
    if (this.used + b.length > this.buf.length) this.flush();
    if (b.length > this.buf.length) {
      this.write(b);
      return;
    }
    b.copy(this.buf, this.used);
    this.used += b.length;
  }

  /** Copy `len` bytes of `fd` at `offset`; with `keep`, also returns them. */
  copyFrom(fd: number, offset: number, len: number, keep = false): Buffer {
    let left = len;
    let pos = offset;
    const parts: Buffer[] = [];
    while (left > 0) {
      if (this.used === this.buf.length) this.flush();
      const n = fs.readSync(fd, this.buf, this.used, Math.min(left, this.buf.length - this.used), pos);
      if (n === 0) throw new Error(`unexpected end of input at ${pos}`);
      if (keep) parts.push(Buffer.from(this.buf.subarray(this.used, this.used + n)));
      this.used += n;
      pos += n;
      left -= n;
    }
    return keep ? Buffer.concat(parts) : Buffer.alloc(0);
  }

  /** Copy up to `len` bytes from the current position of `fd`; returns how many it got. */
  copyUpTo(fd: number, len: number): number {
    let left = len;
    while (left > 0) {
      if (this.used === this.buf.length) this.flush();
      const n = fs.readSync(fd, this.buf, this.used, Math.min(left, this.buf.length - this.used), null);
      if (n === 0) break;
      this.used += n;
      left -= n;
    }
    return len - left;
  }

  flush(): void {
    if (this.used === 0) return;
    this.write(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  private write(b: Buffer): void {
    this.hash.update(b);
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.fd, b, off, b.length - off);
    this.size += b.length;
  }

  finish(): void {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.hex = this.hash.digest('hex');
  }

  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(this.file, { force: true });
  }

  digest(): Digest {
    return 'sha256:' + this.hex;
  }
}
