// Everything temporary a Kiln process makes is named after its owner, so whatever a Ctrl-C or a
// kill -9 leaves is found and removed by the next command (or the control plane at start), and
// never piles up (issue 11, defect 12: scratch copies of apps of GBs, partial blobs, temp files
// holding a secret value).
//
//   .kiln/tmp/<kind>-<pid>-<rand>[.ext]     scratch entries (layers, downloads)
//   $TMPDIR/kiln-scratch-<store>/<kind>-…   ones another uid must reach (app build copies)
//   <dir>/.<name>.tmp-<pid>-<rand>[-wal…]   a file being written atomically beside its target
//                                           (atomic.ts tempPathFor: blobs, secrets, index.json)
//
// The owner is the pid in the name. An entry whose owner is dead is removed; a live owner's is
// left alone, and so is an entry whose pid was reused by another process until that one ends
// (late, never wrong). Processes still working inside a dead owner's scratch directory (a build
// the killed kiln started) are killed first, so nothing writes there again. On SIGINT, SIGTERM
// or SIGHUP a kiln command removes its own entries before it dies (installInterruptCleanup).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import os from 'node:os';
import { spawnSync } from 'node:child_process';

export const SCRATCH_DIR = 'tmp';

const SCRATCH_NAME = /^([a-z][a-z0-9-]*?)-(\d+)-[0-9a-f]+(\.[A-Za-z0-9.]+)?$/;
const SIBLING_TEMP = /^\..+\.tmp-(\d+)-[0-9a-f]+(-wal|-shm|-journal)?$/;
/** Where atomic writes leave sibling temps, relative to .kiln (recursive: secrets and data nest). */
const SIBLING_DIRS: Array<{ dir: string; depth: number }> = [
  { dir: '.', depth: 0 },
  { dir: 'oci', depth: 0 },
  { dir: 'oci/blobs/sha256', depth: 0 },
  { dir: 'apps', depth: 0 },
  { dir: 'run', depth: 0 },
  { dir: 'secrets', depth: 3 },
  { dir: 'data', depth: 3 },
];

/** .kiln/tmp: private to Kiln's user. */
export function scratchRoot(kilnDir: string): string {
  return path.join(kilnDir, SCRATCH_DIR);
}

/**
 * For entries another uid must reach (a build run as the store's unprivileged build user, which
 * may not enter .kiln): $TMPDIR/kiln-scratch-<store id>, one per store, 0711 (entered, not listed).
 * Swept like .kiln/tmp, by commands run with the same TMPDIR.
 */
export function sharedScratchRoot(kilnDir: string): string {
  const id = crypto.createHash('sha256').update(path.resolve(kilnDir)).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `kiln-scratch-${id}`);
}

/** Makes `root` (or checks the one there): a real directory of ours, never a link another user planted. */
function ensureRoot(root: string, mode: number): void {
  fs.mkdirSync(root, { recursive: true, mode });
  const st = fs.lstatSync(root);
  if (!st.isDirectory() || (typeof process.getuid === 'function' && st.uid !== process.getuid())) {
    throw new Error(`${root} is not a directory of this user: remove it`);
  }
  fs.chmodSync(root, mode);
}

export interface Scratch {
  /** Absolute path of the entry (a directory for scratchDir, a name not yet created for scratchPath). */
  readonly path: string;
  /** Its name in .kiln/tmp, e.g. "build-4242-9f2c1a0b". */
  readonly name: string;
  /** Also run when the entry is removed, on an interrupt too (e.g. remove the build's container). */
  onRemove(fn: () => void): void;
  /**
   * A command that undoes what this entry made outside itself (`podman rm -f` of a build
   * container), run when the entry is removed: by this process, or by the sweep after a kill -9.
   * Recorded in the entry (a directory), so the sweep knows it.
   */
  cleanupCommand(cmd: CleanupCommand): void;
  /** Removes it (kills processes working inside it first); idempotent. */
  remove(): void;
}

export interface CleanupCommand {
  file: string;
  args: string[];
  /** Added to the environment (e.g. CONTAINERS_CONF). */
  env?: Record<string, string>;
}

/** In a scratch directory: the cleanup commands of its owner (0600, beside the work tree). */
const CLEANUP_FILE = '.kiln-cleanup.json';
const CLEANUP_TIMEOUT_MS = 30_000;

const live = new Set<Scratch>();

function makeEntry(kilnDir: string, kind: string, ext: string, shared = false): Scratch {
  if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`bad scratch kind ${kind}`);
  const root = shared ? sharedScratchRoot(kilnDir) : scratchRoot(kilnDir);
  ensureRoot(root, shared ? 0o711 : 0o700);
  const name = `${kind}-${process.pid}-${crypto.randomBytes(4).toString('hex')}${ext}`;
  const p = path.join(root, name);
  const hooks: Array<() => void> = [];
  const cmds: CleanupCommand[] = [];
  const entry: Scratch = {
    path: p,
    name,
    onRemove: (fn) => void hooks.push(fn),
    cleanupCommand: (cmd) => {
      cmds.push(cmd);
      writeCleanupFile(p, cmds);
      hooks.push(() => runCleanup(cmd));
    },
    remove: () => {
      if (!live.delete(entry)) return;
      for (const fn of hooks.splice(0)) {
        try {
          fn();
        } catch {
          // best effort: what is left is swept by the next command
        }
      }
      removeEntry(p);
    },
  };
  live.add(entry);
  return entry;
}

/** A new private directory .kiln/tmp/<kind>-<pid>-<rand> (shared: in sharedScratchRoot). */
export function scratchDir(kilnDir: string, kind: string, opts: { shared?: boolean } = {}): Scratch {
  const entry = makeEntry(kilnDir, kind, '', opts.shared === true);
  fs.mkdirSync(entry.path, { mode: 0o700 });
  return entry;
}

/** A name .kiln/tmp/<kind>-<pid>-<rand><ext> for a file the caller creates (e.g. with mode 0600). */
export function scratchPath(kilnDir: string, kind: string, ext = ''): Scratch {
  return makeEntry(kilnDir, kind, ext);
}

/** The owner pid of a scratch entry or sibling temp name, or null if the name is neither. */
export function ownerOf(name: string): number | null {
  const m = SCRATCH_NAME.exec(name) ?? SIBLING_TEMP.exec(name);
  const pidText = m ? (SCRATCH_NAME.test(name) ? m[2] : m[1]) : undefined;
  const pid = Number(pidText);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Alive, and not a zombie (a killed process its parent has not reaped yet is dead). */
export function ownerAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync('/proc/self/stat')) return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export interface SweepResult {
  /** Paths removed, relative to .kiln. */
  removed: string[];
  /** Pids of processes killed because they worked inside a removed scratch directory. */
  killed: number[];
}

/**
 * Removes what dead owners left: .kiln/tmp entries and sibling temps in the store's directories.
 * Never throws (a store another user owns, a file removed meanwhile): it is housekeeping.
 */
export function sweepScratch(kilnDir: string): SweepResult {
  const result: SweepResult = { removed: [], killed: [] };
  const dead = (name: string): boolean => {
    const pid = ownerOf(name);
    return pid !== null && !ownerAlive(pid);
  };
  for (const root of [scratchRoot(kilnDir), sharedScratchRoot(kilnDir)]) {
    if (!isRealDir(root)) continue;
    for (const name of list(root)) {
      if (!SCRATCH_NAME.test(name) || !dead(name)) continue;
      const p = path.join(root, name);
      if (isRealDir(p)) {
        result.killed.push(...killProcessesInside(p));
        for (const cmd of readCleanupFile(p)) runCleanup(cmd);
      }
      if (removeEntry(p)) result.removed.push(path.relative(kilnDir, p));
    }
  }
  const visit = (rel: string, depth: number): void => {
    const dir = path.join(kilnDir, rel);
    for (const name of list(dir)) {
      const p = path.join(dir, name);
      if (SIBLING_TEMP.test(name)) {
        if (dead(name) && removeEntry(p)) result.removed.push(path.join(rel, name));
      } else if (depth > 0 && isRealDir(p)) {
        visit(path.join(rel, name), depth - 1);
      }
    }
  };
  for (const { dir, depth } of SIBLING_DIRS) visit(dir, depth);
  return result;
}

/** Removes this process's own entries (an interrupt, or the end of a command). */
export function removeOwnScratch(): void {
  for (const e of [...live]) e.remove();
}

let installed = false;

/**
 * On SIGINT, SIGTERM or SIGHUP: this process's scratch entries are removed, then it dies of the
 * signal as it would have. A command that handles the signal itself (`kiln server`, `kiln logs
 * -f`) keeps doing so: then nothing is removed here, its own shutdown runs. Installing a handler
 * also means a signal waits for synchronous work to finish: an atomic write is never cut short.
 */
export function installInterruptCleanup(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      if (process.listenerCount(sig) > 1) return;
      removeOwnScratch();
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

function writeCleanupFile(dir: string, cmds: CleanupCommand[]): void {
  const file = path.join(dir, CLEANUP_FILE);
  const tmp = `${file}.new`;
  fs.writeFileSync(tmp, JSON.stringify(cmds), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * The cleanup commands a dead owner recorded. Read without following a link or blocking on a
 * FIFO (a build runs in the directory's work tree); anything malformed is ignored.
 */
function readCleanupFile(dir: string): CleanupCommand[] {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path.join(dir, CLEANUP_FILE), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > 64 * 1024 || (typeof process.getuid === 'function' && st.uid !== process.getuid())) return [];
    const parsed = JSON.parse(fs.readFileSync(fd, 'utf8')) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (c): c is CleanupCommand =>
        typeof c === 'object' && c !== null && typeof (c as CleanupCommand).file === 'string' && Array.isArray((c as CleanupCommand).args) && (c as CleanupCommand).args.every((a) => typeof a === 'string'),
    );
  } catch {
    return [];
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function runCleanup(cmd: CleanupCommand): void {
  spawnSync(cmd.file, cmd.args, { stdio: 'ignore', timeout: CLEANUP_TIMEOUT_MS, env: { ...process.env, ...(cmd.env ?? {}) } });
}

function list(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function isRealDir(p: string): boolean {
  try {
    return fs.lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Removes a file or a tree (extracted app files are read-only: made writable first); false if it could not. */
function removeEntry(p: string): boolean {
  try {
    if (isRealDir(p)) {
      killProcessesInside(p);
      const writable = (d: string): void => {
        if (!isRealDir(d)) return;
        fs.chmodSync(d, 0o700);
        for (const n of list(d)) writable(path.join(d, n));
      };
      writable(p);
    }
    fs.rmSync(p, { recursive: true, force: true });
    return !fs.existsSync(p);
  } catch {
    return false;
  }
}

/**
 * SIGKILLs every process whose working directory is `dir` or below (a build command, or the
 * podman client of a build, left running by a killed kiln), read from /proc/<pid>/cwd.
 */
function killProcessesInside(dir: string): number[] {
  const killed: number[] = [];
  const prefix = dir + path.sep;
  for (const name of list('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let cwd: string;
    try {
      cwd = fs.readlinkSync(`/proc/${name}/cwd`);
    } catch {
      continue;
    }
    // A deleted cwd reads as "<path> (deleted)".
    cwd = cwd.replace(/ \(deleted\)$/, '');
    if (cwd !== dir && !cwd.startsWith(prefix)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // gone already
    }
  }
  return killed;
}
