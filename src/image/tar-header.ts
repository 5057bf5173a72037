// The tar header format (POSIX ustar + pax extended headers), shared by the writer and the
// reader. App layers hold regular files, directories and symlinks; root-filesystem layers
// (OS bases) also need owners, hard links, device nodes and extended attributes.
import { KilnError } from '../errors.js';

export const BLOCK = 512;

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  size: number;
  mtime: number;
  linkname: string;
  /** Numeric owner; 0 when absent (app layers). Names (uname/gname) are never written. */
  uid?: number;
  gid?: number;
  /** Device numbers of 'char' and 'block' entries. */
  devmajor?: number;
  devminor?: number;
  /** Extra pax records written as given (e.g. SCHILY.xattr.security.capability); caller sorts. */
  pax?: Array<[string, string]>;
}

export const TYPEFLAG: Record<TarEntryType, string> = { file: '0', dir: '5', symlink: '2', hardlink: '1', char: '3', block: '4', fifo: '6' };
// ustar uid/gid/dev fields hold 7 octal digits.
const MAX_OCTAL_7 = 0o7777777;
// ustar size/mtime fields hold 11 octal digits: larger values go in a pax header.
const MAX_OCTAL_11 = 0o77777777777;

/**
 * The header block(s) of one entry: a pax 'x' header first when the name, link target or size
 * does not fit ustar's fields, then the ustar header. uid/gid 0 and empty uname/gname always:
 * the builder's user must not change the bytes.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const pax: Array<[string, string]> = [];
  let name = h.name;
  let prefix = '';
  const split = splitUstarName(h.name);
  if (split) {
    ({ name, prefix } = split);
  } else {
    pax.push(['path', h.name]);
    name = truncateBytes(h.name, 100);
  }
  let linkname = h.linkname;
  if (Buffer.byteLength(linkname) > 100) {
    pax.push(['linkpath', h.linkname]);
    linkname = truncateBytes(linkname, 100);
  }
  let size = h.size;
  if (size > MAX_OCTAL_11) {
    pax.push(['size', String(h.size)]);
    size = 0;
  }
  let uid = h.uid ?? 0;
  let gid = h.gid ?? 0;
  if (uid > MAX_OCTAL_7) {
    pax.push(['uid', String(uid)]);
    uid = 0;
  }
  if (gid > MAX_OCTAL_7) {
    pax.push(['gid', String(gid)]);
    gid = 0;
  }
  if (h.pax) pax.push(...h.pax);
  const ustar = ustarBlock({
    name,
    prefix,
    mode: h.mode,
    size,
    mtime: h.mtime,
    typeflag: TYPEFLAG[h.type],
    linkname,
    uid,
    gid,
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (pax.length === 0) return ustar;
  const body = Buffer.from(pax.map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
  // A fixed pax header name (GNU tar puts its pid in it, which would change every build).
  const paxName = truncateBytes('PaxHeaders/' + basename(h.name), 100);
  const paxHeader = ustarBlock({ name: paxName, prefix: '', mode: 0o644, size: body.length, mtime: h.mtime, typeflag: 'x', linkname: '', uid: 0, gid: 0, devmajor: 0, devminor: 0 });
  return Buffer.concat([paxHeader, body, Buffer.alloc(padding(body.length))]);
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** "%d key=value\n" where %d counts the whole record, itself included. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restLen = Buffer.byteLength(rest);
  let len = restLen + 1;
  while (String(len).length + restLen !== len) len = String(len).length + restLen;
  return `${len}${rest}`;
}

function splitUstarName(full: string): { name: string; prefix: string } | null {
  if (Buffer.byteLength(full) <= 100) return { name: full, prefix: '' };
  // Split at a '/' so that prefix <= 155 bytes and name <= 100 bytes (trailing '/' of a
  // directory stays in name, so never split there).
  const trimmed = full.endsWith('/') ? full.slice(0, -1) : full;
  for (let i = trimmed.lastIndexOf('/'); i > 0; i = trimmed.lastIndexOf('/', i - 1)) {
    const prefix = full.slice(0, i);
    const name = full.slice(i + 1);
    if (Buffer.byteLength(prefix) > 155) continue;
    if (Buffer.byteLength(name) > 100) return null;
    return { name, prefix };
  }
  return null;
}

interface UstarFields {
  name: string;
  prefix: string;
  mode: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uid: number;
  gid: number;
  devmajor: number;
  devminor: number;
}

function ustarBlock(f: UstarFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(f.name, 0, 100, 'utf8');
  writeOctal(b, 100, 8, f.mode);
  writeOctal(b, 108, 8, f.uid);
  writeOctal(b, 116, 8, f.gid);
  writeOctal(b, 124, 12, f.size);
  writeOctal(b, 136, 12, f.mtime);
  b.write(f.typeflag, 156, 1, 'ascii');
  b.write(f.linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 6, 'ascii');
  b.write('00', 263, 2, 'ascii');
  // uname (265) and gname (297) stay empty.
  writeOctal(b, 329, 8, f.devmajor);
  writeOctal(b, 337, 8, f.devminor);
  b.write(f.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return b;
}

function writeOctal(b: Buffer, off: number, len: number, value: number): void {
  b.write(value.toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
}

function truncateBytes(s: string, max: number): string {
  const buf = Buffer.from(s, 'utf8');
  return buf.length <= max ? s : buf.subarray(0, max).toString('utf8');
}

function basename(p: string): string {
  const t = p.endsWith('/') ? p.slice(0, -1) : p;
  return t.slice(t.lastIndexOf('/') + 1);
}

// ---- reading ----

export interface RawHeader {
  name: string;
  typeflag: string;
  mode: number;
  size: number;
  linkname: string;
  uid: number;
  gid: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}

function bad(msg: string): KilnError {
  return new KilnError('CORRUPT_STORE', `invalid tar archive: ${msg}`);
}

/** Parse one 512-byte header; null for an all-zero block (end of archive). */
export function decodeHeader(b: Buffer): RawHeader | null {
  if (b.every((x) => x === 0)) return null;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (b[i] as number);
  const stored = parseNumeric(b, 148, 8);
  if (stored !== sum) throw bad('header checksum mismatch');
  const name = cstr(b, 0, 100);
  const magic = b.toString('ascii', 257, 262);
  const prefix = magic === 'ustar' ? cstr(b, 345, 155) : '';
  return {
    name: prefix ? `${prefix}/${name}` : name,
    typeflag: String.fromCharCode(b[156] as number),
    mode: parseNumeric(b, 100, 8),
    size: parseNumeric(b, 124, 12),
    linkname: cstr(b, 157, 100),
    uid: parseNumeric(b, 108, 8),
    gid: parseNumeric(b, 116, 8),
    mtime: parseNumeric(b, 136, 12),
    devmajor: magic === 'ustar' ? parseNumeric(b, 329, 8) : 0,
    devminor: magic === 'ustar' ? parseNumeric(b, 337, 8) : 0,
  };
}

/**
 * pax records "len key=value\n" -> map. Path-like values are UTF-8; the others are kept as
 * latin1, byte for byte (xattr values may be binary). `fail` makes the caller's error type.
 */
export function parsePax(body: Buffer, fail: (msg: string) => Error = bad): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  while (off < body.length) {
    const sp = body.indexOf(0x20, off);
    if (sp < 0) break;
    const len = Number(body.toString('ascii', off, sp));
    if (!Number.isInteger(len) || len <= 0 || off + len > body.length) throw fail('malformed pax header');
    const rec = body.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq > 0) {
      const key = rec.toString('utf8', 0, eq);
      out.set(key, rec.toString(key === 'path' || key === 'linkpath' ? 'utf8' : 'latin1', eq + 1));
    }
    off += len;
  }
  return out;
}

function cstr(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end >= 0 && end < off + len ? end : off + len);
}

function parseNumeric(b: Buffer, off: number, len: number): number {
  // GNU base-256: high bit of the first byte set.
  if ((b[off] as number) & 0x80) {
    let v = (b[off] as number) & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + (b[off + i] as number);
    return v;
  }
  const s = b.toString('ascii', off, off + len).replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw bad(`bad numeric field "${s}"`);
  return parseInt(s, 8);
}
