// A tiny cross-process lock file for read-modify-write of shared files (index.json).
// The lock file is created whole, holding its owner's pid, by link(2) of a temp file: link is
// atomic and fails if the name exists, so a lock file is never seen empty. A lock whose owner is
// dead (a kill -9 between taking and releasing it) is taken over at once (issue 11, defect 12);
// one without a readable owner (written by an older kiln) only after STALE_MS. Breaking a dead
// owner's lock is itself serialised by a second lock, held for microseconds, so two waiters
// can't both break it and then remove each other's fresh lock.
import fs from 'node:fs';
import { KilnError } from '../errors.js';
import { tempPathFor } from './atomic.js';
import { ownerAlive } from './scratch.js';

const STALE_MS = 30_000;
const WAIT_MS = 10_000;
/** A break lock older than this was left by a breaker that died in its few-microsecond window. */
const BREAK_STALE_MS = 2_000;

export interface LockOptions {
  /** How long to wait for a live owner; default 10 s. */
  waitMs?: number;
  /** What the lock protects, for the error ("the OCI index .kiln/oci/index.json"). */
  what?: string;
}

interface Owner {
  pid: number;
}

function readOwner(lockPath: string): Owner | null | 'gone' {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw e;
  }
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    return Number.isInteger(o.pid) && (o.pid as number) > 0 ? { pid: o.pid as number } : null;
  } catch {
    return null;
  }
}

/** Creates `file` holding `content` only if it does not exist; false if it does. */
function createExclusive(file: string, content: string): boolean {
  const tmp = tempPathFor(file);
  fs.writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Removes the lock if it still belongs to the dead `owner`, under the break lock. False when
 * another process is breaking it right now (the caller waits a moment and looks again).
 */
function breakDeadLock(lockPath: string, owner: Owner): boolean {
  const breakPath = lockPath + '.break';
  if (!createExclusive(breakPath, JSON.stringify({ pid: process.pid }))) {
    try {
      if (Date.now() - fs.statSync(breakPath).mtimeMs > BREAK_STALE_MS) fs.rmSync(breakPath, { force: true });
    } catch {
      // released meanwhile
    }
    return false;
  }
  try {
    const now = readOwner(lockPath);
    if (now !== 'gone' && now !== null && now.pid === owner.pid) fs.rmSync(lockPath, { force: true });
    return true;
  } finally {
    fs.rmSync(breakPath, { force: true });
  }
}

export function withFileLock<T>(lockPath: string, fn: () => T, opts: LockOptions = {}): T {
  const deadline = Date.now() + (opts.waitMs ?? WAIT_MS);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const me = JSON.stringify({ pid: process.pid });
  for (;;) {
    if (createExclusive(lockPath, me)) break;
    const owner = readOwner(lockPath);
    if (owner === 'gone') continue; // released between our link and read
    if (owner && !ownerAlive(owner.pid) && breakDeadLock(lockPath, owner)) continue;
    if (!owner) {
      // No owner to ask: an older kiln's empty lock file, judged by its age.
      try {
        if (Date.now() - fs.statSync(lockPath).mtimeMs > STALE_MS) fs.rmSync(lockPath, { force: true });
      } catch {
        // released meanwhile
      }
    }
    if (Date.now() > deadline) {
      const holder = owner ? `process ${owner.pid}` : 'another process';
      throw new KilnError('STORE_LOCKED', `${opts.what ?? lockPath} is locked by ${holder}, which has held it for more than ${Math.round((opts.waitMs ?? WAIT_MS) / 1000)} s`, {
        location: { file: lockPath },
        hint: owner ? `wait for it to finish, or stop it (kill ${owner.pid}); a lock of a process that is gone is taken over at once` : `if no kiln command is running, remove ${lockPath}`,
      });
    }
    Atomics.wait(sleeper, 0, 0, 20); // synchronous sleep; callers are synchronous
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lockPath, { force: true });
  }
}
