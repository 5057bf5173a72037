// A tiny cross-process lock file for read-modify-write of shared files (index.json).
// O_EXCL creation is atomic; a lock older than STALE_MS is from a crashed process and is broken.
import fs from 'node:fs';

const STALE_MS = 30_000;
const WAIT_MS = 10_000;

export function withFileLock<T>(lockPath: string, fn: () => T): T {
  const deadline = Date.now() + WAIT_MS;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lockPath, 'wx'));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(lockPath).mtimeMs > STALE_MS) fs.rmSync(lockPath, { force: true });
      } catch {
        // The holder released it between our open and stat: try again.
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${lockPath}`);
      Atomics.wait(sleeper, 0, 0, 20); // synchronous sleep; callers are synchronous
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lockPath, { force: true });
  }
}
