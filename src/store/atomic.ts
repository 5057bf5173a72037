// Crash-safe file writes: a reader (or a restart after a crash) sees either the old file or
// the new one, never a torn mix. Write a temp file in the same directory (same filesystem,
// so rename is atomic), fsync it, rename over the target, then fsync the directory so the
// rename itself is durable.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

export function ensureDir(dir: string, mode?: number): void {
  fs.mkdirSync(dir, { recursive: true, ...(mode !== undefined ? { mode } : {}) });
}

/** A unique temp name next to `target`; a leading dot keeps it out of casual listings. */
export function tempPathFor(target: string): string {
  const base = path.basename(target);
  return path.join(path.dirname(target), `.${base}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    // Some filesystems refuse fsync on a directory (EINVAL/EISDIR); the rename already happened.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function writeFileAtomic(target: string, data: string | Buffer, mode = 0o600, owner?: { uid: number; gid: number }): void {
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', mode);
    fs.writeFileSync(fd, data);
    // The umask may have narrowed `mode` at open; set it exactly. An owner is set before the
    // rename, so the file never appears under its name owned by anyone else.
    if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (e) {
    // Best effort: the original error (e.g. ENOSPC) is what the user must see, not a failed cleanup.
    try {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
    } catch {
      /* reported below */
    }
    throw e;
  }
  fsyncDir(path.dirname(target));
}

/** Move an already-written, already-fsynced file into place durably (same filesystem). */
export function renameDurable(from: string, to: string): void {
  fs.renameSync(from, to);
  fsyncDir(path.dirname(to));
}
