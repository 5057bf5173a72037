// The files next to a log path: where a file rotated away by rename is found again. Rotation
// tools name the old file after the path (app.log.1, app.log.2, app.log-20261126, app.log_old):
// such a name that the tailer has never read is a file rotated through the path while nobody
// looked (a control-plane outage, or two rotations between two polls), and is read from its
// start. Compressed rotations (app.log.2.gz) are not text to read. Any file with an inode the
// tailer already knows is its own, whatever its name now.
import { lstatSync, readdirSync } from 'node:fs';
import { UnsafeLogFile, withLogDir } from './safe-open.js';

export interface Sibling {
  name: string;
  dev: string;
  ino: string;
  size: number;
  mtimeNs: bigint;
}

const COMPRESSED = /\.(gz|bz2|xz|zst|lz4|lzma|z|zip|br)$/i;

/** Whether `name` (in the same directory) looks like a rotated copy of the file named `base`. */
export function isRotatedName(base: string, name: string): boolean {
  if (name.length <= base.length + 1 || !name.startsWith(base)) return false;
  const sep = name[base.length];
  if (sep !== '.' && sep !== '-' && sep !== '_') return false;
  return !COMPRESSED.test(name);
}

/**
 * The regular files in `dir` (listed through a descriptor, no link followed). Entries with a
 * rotated name of `base` that are something else (a link, a FIFO) are passed to `skipped`.
 */
export function siblingFiles(dir: string, root: string | undefined, base: string, skipped: (name: string, what: string) => void): Sibling[] {
  try {
    return withLogDir(dir, root, (at) => {
      const out: Sibling[] = [];
      for (const name of readdirSync(at)) {
        let st;
        try {
          st = lstatSync(`${at}/${name}`, { bigint: true });
        } catch {
          continue; // raced with a delete: not there
        }
        if (st.isFile()) out.push({ name, dev: String(st.dev), ino: String(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs });
        else if (isRotatedName(base, name)) skipped(name, st.isSymbolicLink() ? 'a symbolic link' : st.isFIFO() ? 'a FIFO' : 'not a plain file');
      }
      return out;
    });
  } catch (e) {
    if (e instanceof UnsafeLogFile || (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}
