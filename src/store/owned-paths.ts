// Giving paths under .kiln their owner and mode without ever following a link or opening a FIFO
// that a server could have put there (the control plane runs as root; a server owns its own
// directories and may plant anything in them). Every directory is walked from the store's root:
// each level is checked to be a real directory (lstat, then opened with O_NOFOLLOW|O_DIRECTORY)
// and fixed through its file descriptor (fchown/fchmod), so a swap between check and change
// changes nothing but what was opened.
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';

export interface Ownership {
  uid: number;
  gid: number;
  mode: number;
}

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;

/**
 * Sets owner and mode through an open descriptor, only where they differ. A regular file with a
 * second name is left alone: it may be a hard link to a file that is nobody's to give away.
 */
function fix(fd: number, want: Ownership): fs.Stats {
  const st = fs.fstatSync(fd);
  if (st.isFile() && st.nlink !== 1) return st;
  if (st.uid !== want.uid || st.gid !== want.gid) fs.fchownSync(fd, want.uid, want.gid);
  if ((st.mode & 0o7777) !== want.mode) fs.fchmodSync(fd, want.mode);
  return st;
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function refuse(p: string, what: string): KilnError {
  return new KilnError('ISOLATION_UNAVAILABLE', `${p} is ${what}, where Kiln keeps a directory of its own`, {
    hint: 'something other than Kiln changed this store; remove that entry and run the command again',
  });
}

/**
 * `root`/`parts[0]`/…: each level created if missing and given `level(i)`'s owner and mode.
 * `root` itself must exist and is left as it is. Returns the final directory.
 */
export function ensureDirChain(root: string, parts: string[], level: (index: number) => Ownership): string {
  let cur = root;
  parts.forEach((part, i) => {
    if (part === '' || part === '.' || part === '..' || part.includes('/')) throw new Error(`bad path part "${part}" under ${root}`);
    cur = path.join(cur, part);
    try {
      fs.mkdirSync(cur, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let fd: number;
    try {
      fd = fs.openSync(cur, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // O_DIRECTORY|O_NOFOLLOW on a link to a directory fails with ENOTDIR: say which it was.
      if (code === 'ELOOP' || code === 'ENOTDIR') throw refuse(cur, isLink(cur) ? 'a symbolic link' : 'not a directory');
      throw e;
    }
    try {
      fix(fd, level(i));
    } finally {
      fs.closeSync(fd);
    }
  });
  return cur;
}

/**
 * Owner and mode for the entries of `dir` (not `dir` itself): regular files get `file`, and with
 * `subdir` directories get it and are walked too. Links, FIFOs, sockets and devices are skipped.
 */
export function ownEntries(dir: string, file: Ownership, subdir?: Ownership): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const name of names) {
    const p = path.join(dir, name);
    let fd: number;
    try {
      fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch {
      continue; // a link (ELOOP), a socket (ENXIO), or gone meanwhile
    }
    let isDir = false;
    try {
      const st = fs.fstatSync(fd);
      if (st.isFile()) fix(fd, file);
      else if (st.isDirectory() && subdir) {
        fix(fd, subdir);
        isDir = true;
      }
    } finally {
      fs.closeSync(fd);
    }
    if (isDir && subdir) ownEntries(p, file, subdir);
  }
}

/**
 * Owner and mode of one existing entry, if it is a regular file or a directory (`kind`);
 * nothing if it is missing, a link or anything else.
 */
export function ownPath(p: string, want: Ownership, kind: 'file' | 'dir' = 'file'): void {
  let fd: number;
  try {
    fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return;
  }
  try {
    const st = fs.fstatSync(fd);
    if (kind === 'file' ? st.isFile() : st.isDirectory()) fix(fd, want);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Owner (and, for private files, mode) of a regular file by its path, never through a descriptor:
 * closing any descriptor of a SQLite database drops the POSIX locks this process holds on it
 * (state.db, logs.db and their -wal/-shm are open in the same process). lchown never follows a
 * link; `mode` is only given for files in directories no server can write (a swap is impossible).
 */
export function ownFileByPath(p: string, want: { uid: number; gid: number; mode?: number }): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return;
  }
  // A second name may be a hard link a server made to a file that is not its own (where
  // fs.protected_hardlinks is off): never give a server such a file.
  if (!st.isFile() || st.nlink !== 1) return;
  if (st.uid !== want.uid || st.gid !== want.gid) fs.lchownSync(p, want.uid, want.gid);
  if (want.mode !== undefined && (st.mode & 0o7777) !== want.mode) fs.chmodSync(p, want.mode);
}

/**
 * The first directory above `dir` that other users cannot pass through (no x bit for others),
 * or null. A server running as its own uid reaches its files under .kiln only through those.
 */
export function firstClosedAncestor(dir: string): { dir: string; mode: number } | null {
  let cur = path.dirname(path.resolve(dir));
  for (;;) {
    const st = fs.statSync(cur);
    if ((st.mode & 0o001) === 0) return { dir: cur, mode: st.mode & 0o7777 };
    const up = path.dirname(cur);
    if (up === cur) return null;
    cur = up;
  }
}
