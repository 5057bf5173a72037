// Before each command: what interrupted commands left (scratch copies of apps, partial blobs,
// temp files holding a secret, build containers) is removed, and a Ctrl-C of this command
// removes its own (issue 11, defect 12). Quiet: it is housekeeping, never a reason to fail.
import fs from 'node:fs';
import path from 'node:path';
import { findSpecFile } from '../spec/find.js';
import { installInterruptCleanup, sweepScratch } from '../store/scratch.js';

export function sweepAtCommandStart(cwd: string): void {
  installInterruptCleanup();
  let kilnDir: string;
  try {
    kilnDir = path.join(path.dirname(findSpecFile(cwd)), '.kiln');
  } catch {
    return; // no project here: nothing of ours to sweep
  }
  if (fs.existsSync(kilnDir)) sweepScratch(kilnDir);
}
