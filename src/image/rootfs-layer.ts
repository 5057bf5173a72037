// A root filesystem as one deterministic layer (the OS layer of every image). The input is one
// or more indexed tars (tar-index.ts): an mmdebstrap output, an imported rootfs tar, or the
// layers of an imported OCI image applied in order with their whiteouts. Output bytes depend
// only on the merged tree, never on the input's entry order or tar dialect.
//
// Kept from the input, because a rootfs needs them: numeric uid/gid, permission bits including
// setuid/setgid/sticky, symlinks, hard links, mtimes (clamped to SOURCE_DATE_EPOCH when set).
// determinism: entries sorted by name bytes; uname/gname, atime/ctime and the input's pax
//   dialect are dropped; a hard-link group is written as a file under its first name in sort
//   order and links from the others, so the input's choice of "original" doesn't matter.
// Dropped on purpose: device nodes and FIFOs (podman, runc and Kubernetes mount their own /dev,
//   and rootless runtimes can't create them when unpacking a layer) and extended attributes
//   (file capabilities), which this writer does not carry; documented in the report/README.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Digest } from '../release/types.js';
import { BLOCK, encodeHeader, padding } from './tar-header.js';
import { inputError, type IndexedEntry } from './tar-index.js';
import { LayerWriter } from './layer-writer.js';

export interface RootfsLayerResult {
  path: string;
  /** sha256 of the uncompressed tar: the layer's diff_id and blob digest. */
  digest: Digest;
  size: number;
  entries: number;
  /** Contents of the requested files (e.g. var/lib/dpkg/status for the bill of materials). */
  captured: Map<string, Buffer>;
  /** Entries left out (device nodes, FIFOs), for the build log. */
  dropped: number;
}

export interface RootfsLayerOptions {
  outFile?: string;
  /** Normalised names whose content to return in `captured`. */
  capture?: string[];
  /** Clamp mtimes to at most this (SOURCE_DATE_EPOCH); undefined keeps the input's. */
  clampMtime?: number;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * Apply layers in order (OCI image-spec "Applying Changesets"): later entries replace earlier
 * ones, `.wh.<name>` removes <name> and everything under it, `.wh..wh..opq` empties its
 * directory of what lower layers put there. A single rootfs tar is one layer.
 */
export function mergeLayers(layers: IndexedEntry[][]): Map<string, IndexedEntry> {
  const tree = new Map<string, IndexedEntry>();
  const removeUnder = (dir: string, keep?: Set<string>): void => {
    for (const k of tree.keys()) if (k.startsWith(dir) && k !== dir && !keep?.has(k)) tree.delete(k);
  };
  for (const layer of layers) {
    const seenHere = new Set<string>();
    for (const e of layer) {
      const base = e.name.replace(/\/$/, '').split('/').pop() as string;
      const parent = e.name.slice(0, e.name.replace(/\/$/, '').length - base.length);
      if (base === OPAQUE) {
        removeUnder(parent, seenHere);
        continue;
      }
      if (base.startsWith(WHITEOUT)) {
        const target = parent + base.slice(WHITEOUT.length);
        tree.delete(target);
        tree.delete(target + '/');
        removeUnder(target + '/');
        continue;
      }
      const bare = e.name.replace(/\/$/, '');
      // A non-directory replacing a directory (or the reverse) replaces the whole subtree.
      if (e.type !== 'dir' && tree.has(bare + '/')) {
        tree.delete(bare + '/');
        removeUnder(bare + '/');
      }
      if (e.type === 'dir') tree.delete(bare);
      tree.set(e.name, e);
      seenHere.add(e.name);
    }
  }
  return tree;
}

/** Write the merged tree as a deterministic tar; returns its digest. */
export function writeRootfsLayer(tree: Map<string, IndexedEntry>, label: string, opts: RootfsLayerOptions = {}): RootfsLayerResult {
  const dropped = [...tree.values()].filter((e) => e.type === 'char' || e.type === 'block' || e.type === 'fifo').length;
  const kept = [...tree.values()].filter((e) => e.type !== 'char' && e.type !== 'block' && e.type !== 'fifo');
  const names = new Map(kept.map((e) => [e.name, Buffer.from(e.name)]));
  const byName = (a: string, b: string): number => Buffer.compare(names.get(a) as Buffer, names.get(b) as Buffer);

  // Hard-link groups: resolve each link to the regular file it finally names.
  const resolve = (e: IndexedEntry, hops = 0): IndexedEntry => {
    if (e.type !== 'hardlink') return e;
    const t = tree.get(e.linkname);
    if (!t || hops > 64) throw inputError(label, `hard link "${e.name}" points to "${e.linkname}", which is not in the archive`);
    return resolve(t, hops + 1);
  };
  const groups = new Map<IndexedEntry, string[]>();
  for (const e of kept) {
    if (e.type !== 'hardlink') continue;
    const target = resolve(e);
    if (target.type !== 'file') throw inputError(label, `hard link "${e.name}" points to a ${target.type}, not a file`);
    const g = groups.get(target) ?? [target.name];
    g.push(e.name);
    groups.set(target, g);
  }
  // name -> [content source, name the link points to ('' when the entry carries the content)]
  const linkTo = new Map<string, string>();
  const source = new Map<string, IndexedEntry>();
  for (const [target, g] of groups) {
    g.sort(byName);
    const first = g[0] as string;
    for (const n of g) {
      source.set(n, target);
      if (n !== first) linkTo.set(n, first);
    }
  }

  const ordered = kept.map((e) => e.name).sort(byName);
  const out = opts.outFile ?? path.join(os.tmpdir(), `kiln-rootfs-${process.pid}-${crypto.randomBytes(6).toString('hex')}.tar`);
  const w = new LayerWriter(out);
  const captured = new Map<string, Buffer>();
  const capture = new Set(opts.capture ?? []);
  const inputs = new Map<string, number>();
  const fdOf = (file: string): number => {
    let fd = inputs.get(file);
    if (fd === undefined) {
      fd = fs.openSync(file, 'r');
      inputs.set(file, fd);
    }
    return fd;
  };
  try {
    for (const name of ordered) {
      const e = tree.get(name) as IndexedEntry;
      const src = source.get(name) ?? e;
      const mtime = opts.clampMtime !== undefined ? Math.min(src.mtime, opts.clampMtime) : src.mtime;
      const link = linkTo.get(name);
      const meta = { mode: src.mode, uid: src.uid, gid: src.gid, mtime };
      if (link !== undefined) {
        w.put(encodeHeader({ name, type: 'hardlink', size: 0, linkname: link, ...meta }));
      } else if (src.type === 'file') {
        w.put(encodeHeader({ name, type: 'file', size: src.size, linkname: '', ...meta }));
        const keep = capture.has(name);
        const bytes = w.copyFrom(fdOf(src.file), src.offset, src.size, keep);
        if (keep) captured.set(name, bytes);
        w.put(Buffer.alloc(padding(src.size)));
      } else {
        w.put(encodeHeader({ name, type: src.type, size: 0, linkname: src.type === 'symlink' ? src.linkname : '', ...meta }));
      }
    }
    w.put(Buffer.alloc(2 * BLOCK));
    w.finish();
  } catch (e) {
    w.abort();
    throw e;
  } finally {
    for (const fd of inputs.values()) fs.closeSync(fd);
  }
  return { path: out, digest: w.digest(), size: w.size, entries: ordered.length, captured, dropped };
}
