// Opening a file an app controls, from a control plane that may run as root. A server (or a
// container, whose log directory is a bind mount) can put anything where its log file was: a
// symbolic link to /etc/shadow or .kiln/run/token, a FIFO (a blocking open() would hang the
// whole control plane), a device, a directory. So a log file is opened like this:
//
// - Relative to a directory descriptor, never by a path that is resolved again later. Node has
//   no openat(2), but /proc/self/fd/<dirfd>/<name> is resolved by the kernel exactly as
//   openat(dirfd, name) is: the magic link stands for the directory we hold open, and only
//   <name> is looked up in it. Each directory below the trusted root is opened this way with
//   O_DIRECTORY | O_NOFOLLOW, so no component anywhere can be swapped for a link.
// - The last component is lstat'ed first (something that is not a regular file is not even
//   opened: opening a device can have effects), then opened with O_NOFOLLOW | O_NONBLOCK, and
//   the descriptor is fstat'ed: if the name was swapped between lstat and open, O_NOFOLLOW
//   refuses a link and O_NONBLOCK makes a FIFO return at once, and fstat refuses anything but a
//   regular file.
// - Without /proc (rare on Linux) the same walk is done with lstat on each directory, before and
//   after the open, comparing device and inode: a swap is refused unless it was swapped back in
//   between, which cannot make us read a file that is not in the log directory at that moment.
//
// The trusted root (.kiln/logs) is opened normally: its path is chosen by whoever runs Kiln.
// A LogFile owns its descriptor: the number never leaves the class, close is idempotent and a
// read after close is a bug that throws, instead of reading (or closing) whatever file the
// kernel gave that number to next.
import { closeSync, constants as C, existsSync, fstatSync, lstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import path from 'node:path';

/** Why a log path was not opened (it is not a plain file of the log directory). */
export class UnsafeLogFile extends Error {
  constructor(
    readonly file: string,
    readonly what: string,
  ) {
    super(`${file} is ${what}, not a regular file: not read (a server's log must be a plain file in its log directory)`);
    this.name = 'UnsafeLogFile';
  }
}

export interface FileId {
  dev: string;
  ino: string;
}

/** One open log file. Only this object may read or close its descriptor. */
export class LogFile implements FileId {
  #fd: number | null;
  readonly dev: string;
  readonly ino: string;

  constructor(fd: number, st: BigIntStats) {
    this.#fd = fd;
    this.dev = String(st.dev);
    this.ino = String(st.ino);
  }

  get isOpen(): boolean {
    return this.#fd !== null;
  }

  /** pread: bytes read into buf at 0 (0 at end of file). */
  read(buf: Buffer, position: number): number {
    return readSync(this.fd(), buf, 0, buf.length, position);
  }

  size(): number {
    return Number(fstatSync(this.fd(), { bigint: true }).size);
  }

  modifiedNs(): bigint {
    return fstatSync(this.fd(), { bigint: true }).mtimeNs;
  }

  /** Closes the descriptor once; later calls do nothing. */
  close(): void {
    const fd = this.#fd;
    if (fd === null) return;
    // Forget the number first: nothing can use it again, even if close fails.
    this.#fd = null;
    try {
      closeSync(fd);
    } catch (e) {
      // EBADF would mean someone else closed our descriptor: that is a bug, say so loudly.
      if ((e as NodeJS.ErrnoException).code === 'EBADF') throw e;
    }
  }

  private fd(): number {
    if (this.#fd === null) throw new Error(`log file ${this.dev}:${this.ino} used after close`);
    return this.#fd;
  }
}

let procFd: boolean | undefined;
/** Whether /proc/self/fd/<n>/<name> works here (it does on any Linux with /proc mounted). */
function procFdWorks(): boolean {
  if (procFd === undefined) {
    procFd = false;
    try {
      const fd = openSync('/', C.O_RDONLY | C.O_DIRECTORY);
      try {
        procFd = existsSync(`/proc/self/fd/${fd}/`) && lstatSync(`/proc/self/fd/${fd}/.`).ino === lstatSync('/').ino;
      } finally {
        closeSync(fd);
      }
    } catch {
      procFd = false;
    }
  }
  return procFd;
}

/** For tests: force the walk without /proc (true) or detect again (undefined). */
export function setProcFdForTests(works: boolean | undefined): void {
  procFd = works;
}

/** `file` split into the trusted root and the names below it. A file outside `root` trusts its own directory. */
function split(file: string, root: string | undefined): { root: string; dirs: string[]; name: string } {
  const abs = path.resolve(file);
  const rel = root !== undefined ? path.relative(path.resolve(root), abs) : '';
  if (root === undefined || rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    return { root: path.dirname(abs), dirs: [], name: path.basename(abs) };
  }
  const parts = rel.split(path.sep);
  return { root: path.resolve(root), dirs: parts.slice(0, -1), name: parts.at(-1)! };
}

function kindOf(st: { isSymbolicLink(): boolean; isFIFO(): boolean; isDirectory(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a plain file';
}

/** Turns the errors of an O_NOFOLLOW / O_DIRECTORY open into refusals; ENOENT and others pass. */
function refusal(e: unknown, file: string, dir: boolean): never {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') throw new UnsafeLogFile(file, 'a symbolic link');
  if (code === 'ENOTDIR' && dir) throw new UnsafeLogFile(file, 'below something that is not a directory');
  if (code === 'ENXIO') throw new UnsafeLogFile(file, 'a socket or device');
  throw e;
}

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW | C.O_NONBLOCK;
const FILE_FLAGS = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY;

/**
 * Opens `file` for reading if it is a regular file reached from `root` (default: its own
 * directory) without following any link. Throws UnsafeLogFile for anything else, and the
 * usual errors (ENOENT: not there yet).
 */
export function openLogFile(file: string, root?: string): LogFile {
  const s = split(file, root);
  return procFdWorks() ? openViaProc(file, s) : openByWalk(file, s);
}

/** What is at `file` now (not following a final link), or null if nothing; same walk as openLogFile. */
export function lstatLogPath(file: string, root?: string): BigIntStats | null {
  const s = split(file, root);
  try {
    if (!procFdWorks()) return lstatSync(path.join(s.root, ...s.dirs, s.name), { bigint: true });
    const dir = openDirViaProc(file, s);
    try {
      return lstatSync(`/proc/self/fd/${dir}/${s.name}`, { bigint: true });
    } finally {
      closeSync(dir);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || e instanceof UnsafeLogFile) return null;
    throw e;
  }
}

/**
 * Runs `fn` with a path through which directory `dir` (below `root`, no links followed) can be
 * listed and its entries lstat'ed: /proc/self/fd/<n> of the directory held open meanwhile.
 */
export function withLogDir<T>(dir: string, root: string | undefined, fn: (at: string) => T): T {
  const s = split(path.join(dir, '_'), root);
  if (!procFdWorks()) {
    const full = path.join(s.root, ...s.dirs);
    for (let i = 1; i <= s.dirs.length; i++) {
      if (!lstatSync(path.join(s.root, ...s.dirs.slice(0, i))).isDirectory()) throw new UnsafeLogFile(full, 'below something that is not a directory');
    }
    return fn(full);
  }
  const fd = openDirViaProc(dir, s);
  try {
    return fn(`/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
}

function openDirViaProc(file: string, s: { root: string; dirs: string[] }): number {
  let dir = openSync(s.root, C.O_RDONLY | C.O_DIRECTORY);
  try {
    for (const d of s.dirs) {
      let next: number;
      try {
        next = openSync(`/proc/self/fd/${dir}/${d}`, DIR_FLAGS);
      } catch (e) {
        refusal(e, file, true);
      }
      closeSync(dir);
      dir = next;
    }
    return dir;
  } catch (e) {
    closeSync(dir);
    throw e;
  }
}

function openViaProc(file: string, s: { root: string; dirs: string[]; name: string }): LogFile {
  const dir = openDirViaProc(file, s);
  try {
    const at = `/proc/self/fd/${dir}/${s.name}`;
    const before = lstatSync(at);
    if (!before.isFile()) throw new UnsafeLogFile(file, kindOf(before));
    let fd: number;
    try {
      fd = openSync(at, FILE_FLAGS);
    } catch (e) {
      refusal(e, file, false);
    }
    return checked(fd, file);
  } finally {
    closeSync(dir);
  }
}

function openByWalk(file: string, s: { root: string; dirs: string[]; name: string }): LogFile {
  const dirs = s.dirs.map((_, i) => path.join(s.root, ...s.dirs.slice(0, i + 1)));
  const ids = dirs.map((d) => {
    const st = lstatSync(d, { bigint: true });
    if (!st.isDirectory()) throw new UnsafeLogFile(file, st.isSymbolicLink() ? 'below a symbolic link' : 'below something that is not a directory');
    return `${st.dev}:${st.ino}`;
  });
  const full = path.join(s.root, ...s.dirs, s.name);
  const before = lstatSync(full);
  if (!before.isFile()) throw new UnsafeLogFile(file, kindOf(before));
  let fd: number;
  try {
    fd = openSync(full, FILE_FLAGS);
  } catch (e) {
    refusal(e, file, false);
  }
  const f = checked(fd, file);
  const after = dirs.map((d) => {
    const st = lstatSync(d, { bigint: true });
    return `${st.dev}:${st.ino}`;
  });
  if (after.some((id, i) => id !== ids[i])) {
    f.close();
    throw new UnsafeLogFile(file, 'below a directory that was replaced while it was opened');
  }
  return f;
}

/** The descriptor as a LogFile if it is a regular file; closed and refused otherwise. */
function checked(fd: number, file: string): LogFile {
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw new UnsafeLogFile(file, kindOf(st));
    return new LogFile(fd, st);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The last `maxBytes` of a log file as text (for failure messages), or null if it is missing or refused. */
export function readLogTail(file: string, root: string | undefined, maxBytes = 64 * 1024): string | null {
  let f: LogFile;
  try {
    f = openLogFile(file, root);
  } catch {
    return null;
  }
  try {
    const size = f.size();
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(Math.min(size, maxBytes));
    let got = 0;
    while (got < buf.length) {
      const n = f.read(buf.subarray(got), start + got);
      if (n === 0) break;
      got += n;
    }
    const text = buf.subarray(0, got).toString('utf8');
    // Cut a line the window started in the middle of.
    return start > 0 ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    f.close();
  }
}
