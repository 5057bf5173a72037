// Reading a root-filesystem tar made by another tool (mmdebstrap, GNU tar, an image layer) into
// an index of entries: names, metadata and where each file's bytes are in the archive. Nothing
// is extracted, so a rootfs with device nodes and foreign owners is read without privileges,
// and the layer writer (rootfs-layer.ts) can emit the entries in any order straight from the
// source file. A damaged archive is an INPUT_INVALID error naming the input.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { KilnError } from '../errors.js';
import { BLOCK, decodeHeader, padding, parsePax, type TarEntryType } from './tar-header.js';

export interface IndexedEntry {
  /** Normalised name: no leading "./" or "/", directories end with "/". */
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (mode & 07777). */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  /** Symlink target as written; hard-link target normalised like `name`. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** The archive holding the bytes, and where they start. */
  file: string;
  offset: number;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

export function inputError(label: string, why: string, hint?: string): KilnError {
  return new KilnError('INPUT_INVALID', `${label}: ${why}`, {
    hint: hint ?? 'the archive is truncated or damaged; re-create or re-download it',
  });
}

/** "./usr/bin/" -> "usr/bin/" (dir) ; null for the root itself. ".." anywhere is refused. */
export function normaliseName(raw: string, isDir: boolean, label: string): string | null {
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw inputError(label, `entry "${raw}" contains ".."`, 'the archive is hostile or not a root filesystem');
  if (parts.length === 0) return null;
  const n = parts.join('/');
  return isDir ? n + '/' : n;
}

/**
 * Index every entry of an uncompressed tar. `label` names the input in errors (the kiln.yaml
 * path or "layer sha256:… of x.tar"). A missing end-of-archive marker counts as truncation:
 * an archive cut at a block boundary would otherwise be read as a smaller, valid one.
 */
export function indexTar(file: string, label: string): IndexedEntry[] {
  const fd = fs.openSync(file, 'r');
  const total = fs.fstatSync(fd).size;
  const out: IndexedEntry[] = [];
  const block = Buffer.alloc(BLOCK);
  let pos = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  const readBody = (size: number): Buffer => {
    if (pos + size > total) throw inputError(label, 'truncated (an entry runs past the end of the file)');
    const b = Buffer.alloc(size);
    fs.readSync(fd, b, 0, size, pos);
    pos += size + padding(size);
    return b;
  };
  try {
    for (;;) {
      if (pos + BLOCK > total) throw inputError(label, 'truncated (no end-of-archive marker)');
      fs.readSync(fd, block, 0, BLOCK, pos);
      let h;
      try {
        h = decodeHeader(block);
      } catch (e) {
        throw inputError(label, `not a valid tar archive at byte ${pos} (${(e as Error).message})`);
      }
      if (!h) break;
      pos += BLOCK;
      const size = pax.has('size') ? Number(pax.get('size')) : h.size;
      if (!Number.isSafeInteger(size) || size < 0) throw inputError(label, `bad size of entry "${h.name}"`);
      if (h.typeflag === 'x') {
        pax = parsePax(readBody(size), (msg) => inputError(label, msg));
        continue;
      }
      if (h.typeflag === 'g') {
        readBody(size);
        continue;
      }
      if (h.typeflag === 'L' || h.typeflag === 'K') {
        // GNU long name / long link: the next entry's name is in this body.
        const v = readBody(size).toString('utf8').replace(/\0+$/, '');
        if (h.typeflag === 'L') longName = v;
        else longLink = v;
        continue;
      }
      const type = TYPES[h.typeflag];
      const rawName = pax.get('path') ?? longName ?? h.name;
      if (!type) throw inputError(label, `entry "${rawName}" has unsupported type "${h.typeflag}"`, 'sparse and multi-volume archives are not supported; re-create it with plain tar');
      const rawLink = pax.get('linkpath') ?? longLink ?? h.linkname;
      const uid = pax.has('uid') ? Number(pax.get('uid')) : h.uid;
      const gid = pax.has('gid') ? Number(pax.get('gid')) : h.gid;
      const mtime = pax.has('mtime') ? Math.floor(Number(pax.get('mtime'))) : h.mtime;
      pax = new Map();
      longName = undefined;
      longLink = undefined;
      const dataSize = type === 'file' ? size : 0;
      const offset = pos;
      if (offset + dataSize > total) throw inputError(label, `truncated inside "${rawName}"`);
      // Hard links and others may carry a size field but no data in practice; skip what's declared.
      pos += size + padding(size);
      const name = normaliseName(rawName, type === 'dir', label);
      if (name === null) continue; // the root directory itself
      const linkname = type === 'hardlink' ? normaliseName(rawLink, false, label) ?? '' : rawLink;
      out.push({ name, type, mode: h.mode & 0o7777, uid, gid, mtime, size: dataSize, linkname, devmajor: h.devmajor, devminor: h.devminor, file, offset });
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** True when the file starts with the gzip magic bytes. */
export function isGzip(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(2);
    return fs.readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The uncompressed tar for `file`: itself, or a temp file when it is gzip-compressed (the
 * caller removes `cleanup` paths). A damaged gzip stream is an INPUT_INVALID error.
 */
export async function uncompressedTar(file: string, label: string, tmpDir = os.tmpdir()): Promise<{ path: string; cleanup: string[] }> {
  if (!isGzip(file)) return { path: file, cleanup: [] };
  const out = path.join(tmpDir, `kiln-gunzip-${process.pid}-${crypto.randomBytes(6).toString('hex')}.tar`);
  try {
    await pipeline(fs.createReadStream(file), zlib.createGunzip(), fs.createWriteStream(out, { mode: 0o600 }));
  } catch (e) {
    fs.rmSync(out, { force: true });
    throw inputError(label, `gzip data is damaged (${(e as Error).message})`);
  }
  return { path: out, cleanup: [out] };
}
