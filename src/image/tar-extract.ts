// Extracting a tar layer safely: the archive may come from anywhere (an imported image, a
// damaged store), so every entry must land inside destDir. Refused: absolute names, "..",
// symlinks pointing outside, entries under a symlink (writing through a link), hard links
// and device files. Refusals are KilnErrors; nothing is written outside destDir.
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { BLOCK, decodeHeader, padding, parsePax } from './tar-header.js';

export interface ExtractOptions {
  /** Only entries under this prefix are expected; it is removed from their names. */
  stripPrefix?: string;
  /** Make every extracted file and directory read-only (servers run from immutable files). */
  readOnly?: boolean;
}

export interface ExtractResult {
  files: number;
  dirs: number;
  symlinks: number;
}

/** Sequential reader over a file or a buffer. */
interface Source {
  read(n: number): Buffer;
  close(): void;
}

function fileSource(file: string): Source {
  const fd = fs.openSync(file, 'r');
  return {
    read(n) {
      const b = Buffer.alloc(n);
      let got = 0;
      while (got < n) {
        const r = fs.readSync(fd, b, got, n - got, null);
        if (r === 0) break;
        got += r;
      }
      return got === n ? b : b.subarray(0, got);
    },
    close: () => fs.closeSync(fd),
  };
}

function bufferSource(buf: Buffer): Source {
  let off = 0;
  return {
    read(n) {
      const b = buf.subarray(off, Math.min(off + n, buf.length));
      off += b.length;
      return b;
    },
    close() {},
  };
}

function refuse(name: string, why: string): KilnError {
  return new KilnError('CORRUPT_STORE', `refusing to extract "${name}": ${why}`, {
    hint: 'the archive is damaged or hostile; rebuild it with kiln',
  });
}

export async function extractTar(src: string | Buffer, destDir: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  fs.mkdirSync(destDir, { recursive: true });
  const root = fs.realpathSync(destDir);
  const strip = opts.stripPrefix ? opts.stripPrefix.replace(/\/*$/, '/') : '';
  const source = typeof src === 'string' ? fileSource(src) : bufferSource(src);
  const result: ExtractResult = { files: 0, dirs: 0, symlinks: 0 };
  const madeDirs: Array<{ abs: string; mode: number }> = [];
  const madeFiles: Array<{ abs: string; mode: number }> = [];
  try {
    let pax = new Map<string, string>();
    for (;;) {
      const block = source.read(BLOCK);
      if (block.length === 0) break; // tolerate a missing end-of-archive marker
      if (block.length < BLOCK) throw new KilnError('CORRUPT_STORE', 'invalid tar archive: truncated header');
      const h = decodeHeader(block);
      if (!h) break;
      const size = pax.has('size') ? Number(pax.get('size')) : h.size;
      const readBody = (): Buffer => {
        const body = source.read(size);
        if (body.length < size) throw new KilnError('CORRUPT_STORE', `invalid tar archive: "${h.name}" is truncated`);
        source.read(padding(size));
        return body;
      };
      if (h.typeflag === 'x') {
        pax = parsePax(readBody());
        continue;
      }
      if (h.typeflag === 'g') {
        readBody(); // global pax headers carry nothing Kiln uses
        continue;
      }
      const fullName = pax.get('path') ?? h.name;
      const linkname = pax.get('linkpath') ?? h.linkname;
      pax = new Map();

      const rel = relativeName(fullName, strip);
      const type = h.typeflag;
      if (rel === null) {
        // the prefix directory itself ("app/")
        if (type !== '5') throw refuse(fullName, `expected a directory at the prefix ${strip}`);
        continue;
      }
      const abs = path.join(root, rel);
      for (const made of ensureParents(root, rel, fullName)) madeDirs.push({ abs: made, mode: 0o755 });
      if (type === '5') {
        if (!isDir(abs)) {
          removeIfPresent(abs, fullName);
          fs.mkdirSync(abs, { mode: 0o700 });
        }
        madeDirs.push({ abs, mode: h.mode & 0o777 });
        result.dirs++;
      } else if (type === '0' || type === '\0' || type === '7') {
        removeIfPresent(abs, fullName);
        // 'wx' never follows an existing name, and the file is created before any write.
        const fd = fs.openSync(abs, 'wx', 0o600);
        try {
          let left = size;
          while (left > 0) {
            const n = Math.min(left, 1 << 20);
            const chunk = source.read(n);
            if (chunk.length < n) throw new KilnError('CORRUPT_STORE', `invalid tar archive: "${fullName}" is truncated`);
            fs.writeSync(fd, chunk);
            left -= n;
          }
        } finally {
          fs.closeSync(fd);
        }
        source.read(padding(size));
        madeFiles.push({ abs, mode: h.mode & 0o777 });
        result.files++;
      } else if (type === '2') {
        const problem = symlinkProblem(root, abs, linkname);
        if (problem) throw refuse(fullName, problem.replace('<root>', destDir));
        removeIfPresent(abs, fullName);
        fs.symlinkSync(linkname, abs);
        result.symlinks++;
      } else {
        const kind = type === '1' ? 'a hard link' : `an entry of type "${type}"`;
        throw refuse(fullName, `${kind}; app layers hold only files, directories and symlinks`);
      }
    }
  } finally {
    source.close();
  }
  // Modes last: directories must stay writable while their contents are written.
  const strip222 = (m: number): number => (opts.readOnly ? m & ~0o222 : m);
  for (const f of madeFiles) fs.chmodSync(f.abs, strip222(f.mode));
  for (const d of madeDirs.reverse()) fs.chmodSync(d.abs, strip222(d.mode | 0o500)); // owner can always enter
  return result;
}

/** The entry's path inside destDir (null for the prefix directory itself). */
function relativeName(name: string, strip: string): string | null {
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw refuse(name, 'absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse(name, 'path contains ".."');
  let rel = parts.join('/');
  if (strip) {
    const s = strip.replace(/\/$/, '');
    if (rel === s) return null;
    if (!rel.startsWith(s + '/')) throw refuse(name, `entry is outside ${strip}`);
    rel = rel.slice(s.length + 1);
  }
  if (rel === '') return null;
  if (rel.includes('\0')) throw refuse(name, 'NUL in path');
  return rel;
}

/**
 * Why a symlink at `linkAbs` (inside `root`) with target `linkname` may not be in an app layer,
 * or null: its target must be relative and stay inside the root ("<root>" in the text). One rule
 * for both ends: extraction refuses such a link, so packing (`kiln app tag`) refuses it first.
 */
export function symlinkProblem(root: string, linkAbs: string, linkname: string): string | null {
  if (linkname === '' || path.isAbsolute(linkname)) return `symlink target "${linkname}" is absolute`;
  if (!inside(root, path.resolve(path.dirname(linkAbs), linkname))) return `symlink target "${linkname}" points outside <root>`;
  return null;
}

function inside(root: string, p: string): boolean {
  const r = path.relative(root, p);
  return r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
}

/**
 * Create missing parent directories (archives from other tools may omit them). Writing below
 * an existing symlink would follow it, maybe outside destDir: refused.
 */
function ensureParents(root: string, rel: string, name: string): string[] {
  const made: string[] = [];
  let cur = root;
  for (const p of rel.split('/').slice(0, -1)) {
    cur = path.join(cur, p);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(cur);
    } catch {
      fs.mkdirSync(cur, { mode: 0o700 });
      made.push(cur);
      continue;
    }
    if (st.isSymbolicLink()) throw refuse(name, `it would be written through the symlink ${path.relative(root, cur)}`);
    if (!st.isDirectory()) throw refuse(name, `${path.relative(root, cur)} is not a directory`);
  }
  return made;
}

/** Remove a tree that extractTar made read-only (rm alone fails on read-only dirs for non-root). */
export function removeReadOnlyTree(dir: string): void {
  const makeWritable = (p: string): void => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    fs.chmodSync(p, 0o700);
    for (const n of fs.readdirSync(p)) makeWritable(path.join(p, n));
  };
  makeWritable(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

function isDir(abs: string): boolean {
  try {
    return fs.lstatSync(abs).isDirectory();
  } catch {
    return false;
  }
}

function removeIfPresent(abs: string, name: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(abs);
  } catch {
    return;
  }
  if (st.isDirectory()) throw refuse(name, 'a directory of that name was already extracted');
  fs.rmSync(abs, { force: true });
}
