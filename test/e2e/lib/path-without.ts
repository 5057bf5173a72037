// A PATH like the test's own but without some programs: a directory of links to every program on
// PATH except those, so a test can stand for a machine on which they were never installed (this
// one has podman, skopeo and mmdebstrap; a new user's often has not).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface FilteredPath {
  /** The value for PATH: one directory. */
  PATH: string;
  cleanup(): void;
}

export function pathWithout(programs: string[], searchPath = process.env.PATH ?? '/usr/bin:/bin'): FilteredPath {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-path-'));
  // Others must pass: builds and servers may run as their own uids (docs/isolation.md).
  fs.chmodSync(dir, 0o755);
  const left = new Set(programs);
  for (const d of searchPath.split(':').filter((x) => path.isAbsolute(x) && othersPass(x))) {
    let names: string[];
    try {
      names = fs.readdirSync(d);
    } catch {
      continue;
    }
    for (const name of names) {
      const link = path.join(dir, name);
      // The first directory on PATH wins, as in a lookup.
      if (left.has(name) || fs.existsSync(link)) continue;
      try {
        fs.symlinkSync(path.join(d, name), link);
      } catch {
        /* a name seen twice in one listing */
      }
    }
  }
  return { PATH: dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Whether `program` can be found on `searchPath` (as a shell lookup would). */
export function findsProgram(program: string, searchPath: string): boolean {
  return searchPath.split(':').some((d) => {
    try {
      fs.accessSync(path.join(d, program), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether every directory down to `dir` lets others pass (o+x): a build or server uid reaches it. */
function othersPass(dir: string): boolean {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      if ((fs.statSync(d).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (path.dirname(d) === d) return true;
  }
}
