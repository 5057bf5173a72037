// Deterministic tar layers: the same tree always gives the same bytes, so the same app gives
// the same digest on any machine (ARCHITECTURE.md, "identity by uncompressed diff_id").
// Each source of non-determinism is removed where marked "determinism:".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { KilnError } from '../errors.js';
import type { Digest } from '../release/types.js';
import { BLOCK, encodeHeader, padding, type TarEntryType } from './tar-header.js';
import { compileExcludes } from './exclude.js';
import { LayerWriter } from './layer-writer.js';

import { symlinkProblem } from './tar-extract.js';

export { extractTar, removeReadOnlyTree, type ExtractOptions, type ExtractResult } from './tar-extract.js';

export interface PackOptions {
  /** Path prefix of every entry, e.g. "app/" (a directory entry for it is included). */
  prefix?: string;
  /** Patterns left out, relative to `dir` (see exclude.ts for the syntax). */
  exclude?: string[];
  /** Where to write the tar; default a new temp file the caller removes. */
  outFile?: string;
  /**
   * Pack a root filesystem rather than an app: keep numeric owners, permission bits (setuid
   * included) and hard links (first name in sort order carries the content); drop device
   * nodes, FIFOs and sockets (the runtime provides /dev). mtimes are still fixed.
   */
  rootfs?: boolean;
  /** How errors name the packed directory (e.g. "apps/api"); default its path. */
  displayName?: string;
}

export interface PackResult {
  /** The tar file written. */
  path: string;
  /** sha256 of the uncompressed tar: the layer's digest and diff_id. */
  digest: Digest;
  size: number;
  /** Number of regular files in the archive. */
  files: number;
}

interface Entry {
  /** Name in the archive ("app/bin/", "app/server.js"). */
  name: string;
  /** Absolute path on disk. */
  abs: string;
  type: TarEntryType;
  mode: number;
  size: number;
  linkname: string;
  uid: number;
  gid: number;
}

/** The mtime of every entry: SOURCE_DATE_EPOCH (reproducible-builds.org) if set, else 0. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['SOURCE_DATE_EPOCH'];
  if (v === undefined || v === '') return 0;
  if (!/^\d+$/.test(v)) {
    throw new KilnError('USAGE', `SOURCE_DATE_EPOCH must be a whole number of seconds, got "${v}"`, {
      location: { flag: 'SOURCE_DATE_EPOCH' },
    });
  }
  return Number(v);
}

export async function packDirectory(dir: string, opts: PackOptions = {}): Promise<PackResult> {
  const prefix = normalizePrefix(opts.prefix ?? '');
  const excluded = compileExcludes(opts.exclude ?? []);
  // determinism: mtime is fixed for every entry, whatever the files' real times are.
  const mtime = sourceDateEpoch();
  const entries: Entry[] = [];
  if (prefix) entries.push({ name: prefix, abs: dir, type: 'dir', mode: 0o755, size: 0, linkname: '', uid: 0, gid: 0 });
  const inodes = opts.rootfs ? new Map<string, Entry[]>() : undefined;
  walk(dir, '', prefix, excluded, entries, inodes, opts.displayName ?? dir);
  // determinism: entries sorted by name bytes, not in readdir order (which depends on the
  // filesystem and on the order files were created). Parents sort before their children.
  const keys = new Map(entries.map((e) => [e, Buffer.from(e.name)]));
  entries.sort((a, b) => Buffer.compare(keys.get(a) as Buffer, keys.get(b) as Buffer));
  // determinism: in a hard-link group the first name in sort order holds the content.
  if (inodes) {
    for (const group of inodes.values()) {
      if (group.length < 2) continue;
      group.sort((a, b) => Buffer.compare(keys.get(a) as Buffer, keys.get(b) as Buffer));
      for (const e of group.slice(1)) {
        e.type = 'hardlink';
        e.linkname = (group[0] as Entry).name;
        e.size = 0;
      }
    }
  }

  const out = opts.outFile ?? path.join(os.tmpdir(), `kiln-layer-${process.pid}-${crypto.randomBytes(6).toString('hex')}.tar`);
  const w = new LayerWriter(out);
  let files = 0;
  try {
    for (const e of entries) {
      w.put(encodeHeader({ name: e.name, type: e.type, mode: e.mode, size: e.size, mtime, linkname: e.linkname, uid: e.uid, gid: e.gid }));
      if (e.type !== 'file') continue;
      files++;
      copyContent(e, w);
      w.put(Buffer.alloc(padding(e.size)));
    }
    // End of archive: two zero blocks. No padding to GNU's 10 KiB record: readers don't need it.
    w.put(Buffer.alloc(2 * BLOCK));
    w.finish();
  } catch (e) {
    w.abort();
    throw e;
  }
  return { path: out, digest: w.digest(), size: w.size, files };
}

function normalizePrefix(p: string): string {
  if (p === '' || p === '/') return '';
  const t = p.replace(/^\/+/, '');
  return t.endsWith('/') ? t : t + '/';
}

function walk(
  root: string,
  rel: string,
  prefix: string,
  excluded: (rel: string) => boolean,
  out: Entry[],
  inodes: Map<string, Entry[]> | undefined,
  shownAs: string,
): void {
  const absDir = rel ? path.join(root, rel) : root;
  for (const name of fs.readdirSync(absDir)) {
    const r = rel ? `${rel}/${name}` : name;
    if (excluded(r)) continue;
    const abs = path.join(absDir, name);
    const st = fs.lstatSync(abs);
    if (inodes) {
      walkRootfs(st, abs, `${prefix}${r}`, out, inodes);
      if (st.isDirectory()) walk(root, r, prefix, excluded, out, inodes, shownAs);
      continue;
    }
    if (st.isDirectory()) {
      // determinism: modes are normalised (0755 dirs and executables, 0644 the rest), so the
      // builder's umask and chmod habits don't leak in; uid/gid are 0 (see tar-header.ts).
      out.push({ name: `${prefix}${r}/`, abs, type: 'dir', mode: 0o755, size: 0, linkname: '', uid: 0, gid: 0 });
      walk(root, r, prefix, excluded, out, undefined, shownAs);
    } else if (st.isSymbolicLink()) {
      // Symlinks are kept as links (not followed), so a link can't pull in files from outside.
      // Their mode means nothing on Linux; 0777 is what ls shows and what other tools write.
      const linkname = fs.readlinkSync(abs);
      // A link deploy would refuse to extract is refused now, naming the file, not at deploy time.
      const problem = symlinkProblem(root, abs, linkname);
      if (problem) {
        const file = path.join(shownAs, r);
        throw new KilnError('BUILD_FAILED', `${file}: ${problem.replace('<root>', `the app (${shownAs})`)}; deploy would refuse it`, {
          location: { file },
          hint: 'make the link relative and inside the app, copy the file into the app instead, or leave it out with app.exclude',
        });
      }
      out.push({ name: `${prefix}${r}`, abs, type: 'symlink', mode: 0o777, size: 0, linkname, uid: 0, gid: 0 });
    } else if (st.isFile()) {
      // determinism: hard links are stored as plain files: inode sharing differs between copies.
      out.push({ name: `${prefix}${r}`, abs, type: 'file', mode: st.mode & 0o111 ? 0o755 : 0o644, size: st.size, linkname: '', uid: 0, gid: 0 });
    } else {
      throw new KilnError('BUILD_FAILED', `cannot pack ${abs}: only files, directories and symlinks go into an app layer`, {
        hint: 'remove the socket, FIFO or device file from the build output, or add it to app.exclude',
      });
    }
  }
}

/** One entry of a root filesystem: owners and mode bits kept, devices and sockets left out. */
function walkRootfs(st: fs.Stats, abs: string, name: string, out: Entry[], inodes: Map<string, Entry[]>): void {
  const meta = { abs, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (st.isDirectory()) out.push({ ...meta, name: name + '/', type: 'dir', size: 0, linkname: '' });
  else if (st.isSymbolicLink()) out.push({ ...meta, name, type: 'symlink', size: 0, linkname: fs.readlinkSync(abs) });
  else if (st.isFile()) {
    const e: Entry = { ...meta, name, type: 'file', size: st.size, linkname: '' };
    out.push(e);
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const g = inodes.get(key);
      if (g) g.push(e);
      else inodes.set(key, [e]);
    }
  }
}

/** Copy exactly e.size bytes: a file that changes size while packing is an error, not a torn entry. */
function copyContent(e: Entry, w: LayerWriter): void {
  const fd = fs.openSync(e.abs, 'r');
  try {
    const copied = w.copyUpTo(fd, e.size);
    if (copied !== e.size || fs.readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0) {
      throw new KilnError('BUILD_FAILED', `${e.abs} changed size while it was being packed`, {
        hint: 'make sure no process is still writing the build output',
      });
    }
  } finally {
    fs.closeSync(fd);
  }
}
