// A full disk or a read-only .kiln is the user's to fix, not a Kiln bug: the errors the
// filesystem (ENOSPC, EDQUOT, EROFS) and SQLite (SQLITE_FULL, SQLITE_READONLY*) raise for them
// become one KilnError that names the path and says what to do. Every write in the store is
// temp+fsync+rename or one SQLite transaction, so when one of these is raised nothing changed.
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';

const FULL_ERRNO = new Set(['ENOSPC', 'EDQUOT']);

/** The KilnError for a full or read-only filesystem; null for any other error. */
export function storageError(err: unknown, fallbackPath?: string): KilnError | null {
  if (err instanceof KilnError || !(err instanceof Error)) return null;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const errPath = (err as NodeJS.ErrnoException).path;
  // better-sqlite3's SqliteError carries no path (nor does a failed write to an open file).
  const where = errPath ?? fallbackPath ?? '.kiln';
  const dir = kilnRoot(where);
  // SQLite reports some failures of a full or read-only disk only as I/O errors (e.g.
  // SQLITE_IOERR_SHMSIZE, SQLITE_CANTOPEN): then the filesystem itself is asked.
  const vague = code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN';
  const probed = vague ? probe(dir) : null;
  if (FULL_ERRNO.has(code) || code === 'SQLITE_FULL' || probed === 'full') {
    return new KilnError('DISK_FULL', `no space left on the filesystem holding ${where}`, {
      hint: `free space on the filesystem of ${dir} (df -h ${dir}), then run the command again; nothing was changed`,
    });
  }
  if (code === 'EROFS' || code.startsWith('SQLITE_READONLY') || probed === 'read-only') {
    return new KilnError('STORE_READ_ONLY', `${dir} is read-only${where === dir ? '' : ` (writing ${where} failed)`}`, {
      hint: `remount it read-write (or fix its permissions), then run the command again; nothing was changed`,
    });
  }
  return null;
}

/** Less free space than this on the filesystem of a failed write counts as full. */
const NEARLY_FULL_BYTES = 1 << 20;

function probe(dir: string): 'full' | 'read-only' | null {
  try {
    const st = fs.statfsSync(dir);
    if (st.bavail * st.bsize < NEARLY_FULL_BYTES) return 'full';
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EROFS') return 'read-only';
  }
  return null;
}

/** The .kiln directory a path is in (what the user has to free or remount), else the path's directory. */
function kilnRoot(p: string): string {
  const parts = p.split(path.sep);
  const i = parts.lastIndexOf('.kiln');
  return i >= 0 ? parts.slice(0, i + 1).join(path.sep) || '.kiln' : path.dirname(p);
}

/** True when `err` is a full or read-only filesystem (for loops that must survive it). */
export function isStorageError(err: unknown): boolean {
  return storageError(err) !== null;
}
