// Answers built once per zone, not per query. A response is a function of the zone, the
// transport and a few things of the query: the question's name (case aside), type and class, the
// RD bit, and whether it speaks EDNS with which UDP size (the limit truncation works to). So the
// first query with a given key is answered by respond.ts, the full decoder and encoder, from a
// lowercased copy; its bytes are kept with where the question's name and the answers' owner names
// sit, and every later query with that key gets a copy with only its own id and its own spelling
// of the name written in (clients that randomise the case, "0x20", check that it is echoed).
// A query the key does not describe completely (another opcode, more than one question, records
// other than one OPT, OPT options dns-packet decodes itself, EDNS versions other than 0, labels
// with bytes outside letters, digits, - and _, trailing bytes) goes to respond.ts every time, so it
// gets exactly the answer it got before, FORMERR and BADVERS included.
// A new snapshot is a new Zone, which starts an empty cache: nothing stale is ever served.
import { EDNS_UDP_SIZE, respond, type Transport } from './respond.js';
import type { Zone } from './zone.js';

/** Queries longer than this (unusual: big EDNS options) are answered but not cached. */
const MAX_QUERY_BYTES = 512;
const UDP_CLASSIC_LIMIT = 512;
const OPT_TYPE = 41;
/** EDNS options dns-packet decodes beyond their bytes (ECS, keepalive, tags): malformed ones make respond.ts answer FORMERR. */
const DECODED_OPTIONS = new Set([8, 11, 14]);

interface Entry {
  /** The response to the lowercased query (id aside); null: not answered at all. */
  bytes: Buffer | null;
  /** Offsets in `bytes` where the question's name is written as asked: the question's and the answers' owners. */
  nameAt: number[];
  /** The response could not be patched exactly: every such query goes to respond.ts. */
  uncached?: true;
  /** The key in full, to tell a hash collision from a hit: the name lowercased, then the rest. */
  name: Buffer;
  meta: number;
  flavour: number;
}

/** What a query is keyed by, or null when only respond.ts may answer it. */
interface Parsed {
  /** FNV-1a of the key: a number, so the map lookup hashes no string. */
  hash: number;
  /** QTYPE << 16 | QCLASS. */
  meta: number;
  /** Transport, RD and the EDNS size (0: no EDNS). */
  flavour: number;
  /** End of the question's name (it starts at 12). */
  nameEnd: number;
}

export class ResponseCache {
  private zone: Zone | null = null;
  private readonly entries = new Map<number, Entry>();

  /** @param size entries kept per zone; 0 disables the cache. */
  constructor(private readonly size: number) {}

  respond(query: Buffer, zone: () => Zone, transport: Transport): Buffer | null {
    const p = this.size === 0 ? null : parse(query, transport);
    if (p === null) return respond(query, zone, transport);
    let z: Zone;
    try {
      z = zone();
    } catch {
      return respond(query, zone, transport); // answers SERVFAIL
    }
    if (z !== this.zone) {
      this.zone = z;
      this.entries.clear();
    }
    let e = this.entries.get(p.hash);
    if (e === undefined) {
      e = build(query, p, z, transport);
      // Full: start over rather than track recency; a zone has few names, so this is rare.
      if (this.entries.size >= this.size) this.entries.clear();
      this.entries.set(p.hash, e);
    } else if (!sameKey(e, query, p)) return respond(query, () => z, transport); // a collision: rare, and exact anyway
    if (e.uncached) return respond(query, () => z, transport);
    if (e.bytes === null) return null;
    const out = Buffer.allocUnsafe(e.bytes.length);
    e.bytes.copy(out);
    out[0] = query[0]!;
    out[1] = query[1]!;
    for (const at of e.nameAt) query.copy(out, at, 12, p.nameEnd);
    return out;
  }

  /** Entries built for the current zone (for tests). */
  get built(): number {
    return this.entries.size;
  }
}

/** Letters, digits, '-' and '_': bytes dns-packet decodes and encodes back to themselves. */
const PLAIN = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  PLAIN[c] = /[A-Za-z0-9_-]/.test(ch) ? 1 : 0;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Exported for tests (finding a hash collision). */
export function parse(q: Buffer, transport: Transport): Parsed | null {
  const n = q.length;
  if (n < 17 || n > MAX_QUERY_BYTES) return null;
  const flags = (q[2]! << 8) | q[3]!;
  // A response, or an opcode other than QUERY: respond.ts (which drops or answers NOTIMP).
  if (flags & 0xf800) return null;
  // One question, no answer or authority records, at most one additional (the OPT).
  if (q[4] !== 0 || q[5] !== 1 || q[6] !== 0 || q[7] !== 0 || q[8] !== 0 || q[9] !== 0 || q[10] !== 0 || q[11]! > 1) return null;
  let off = 12;
  let text = -1;
  let h = FNV_OFFSET;
  for (;;) {
    const len = q[off];
    if (len === undefined || len > 63) return null; // past the end, or a compression pointer
    h = Math.imul(h ^ len, FNV_PRIME);
    off++;
    if (len === 0) break;
    const end = off + len;
    if (end > n) return null;
    for (; off < end; off++) {
      const c = q[off]!;
      if (PLAIN[c] === 0) return null;
      h = Math.imul(h ^ (c >= 0x41 && c <= 0x5a ? c + 0x20 : c), FNV_PRIME);
    }
    text += len + 1;
  }
  if (text > 253) return null;
  const nameEnd = off;
  if (off + 4 > n) return null;
  const meta = q.readUInt32BE(off);
  off += 4;
  let size = 0;
  if (q[11] === 1) {
    // The OPT record: root name, type 41, class = UDP size, TTL = extended rcode, version, flags.
    if (off + 11 > n || q[off] !== 0 || q.readUInt16BE(off + 1) !== OPT_TYPE || q[off + 6] !== 0) return null;
    const rdlen = q.readUInt16BE(off + 9);
    let o = off + 11;
    const end = o + rdlen;
    if (end !== n) return null;
    while (o < end) {
      if (o + 4 > end) return null;
      const code = q.readUInt16BE(o);
      const olen = q.readUInt16BE(o + 2);
      if (DECODED_OPTIONS.has(code) || o + 4 + olen > end) return null;
      o += 4 + olen;
    }
    size = Math.max(UDP_CLASSIC_LIMIT, Math.min(q.readUInt16BE(off + 3), EDNS_UDP_SIZE));
  } else if (off !== n) return null;
  const flavour = (size << 2) | (flags & 0x0100 ? 2 : 0) | (transport === 'tcp' ? 1 : 0);
  h = Math.imul(h ^ meta, FNV_PRIME);
  h = Math.imul(h ^ flavour, FNV_PRIME);
  return { hash: h, meta, flavour, nameEnd };
}

/** Whether the entry is for this very key (the hash may collide). */
function sameKey(e: Entry, q: Buffer, p: Parsed): boolean {
  if (e.meta !== p.meta || e.flavour !== p.flavour || e.name.length !== p.nameEnd - 12) return false;
  for (let i = 0; i < e.name.length; i++) {
    const c = q[12 + i]!;
    if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== e.name[i]) return false;
  }
  return true;
}

/** Answers the lowercased query with respond.ts and finds where the name as asked must go. */
function build(query: Buffer, p: Parsed, z: Zone, transport: Transport): Entry {
  const nameEnd = p.nameEnd;
  const lower = Buffer.from(query);
  for (let i = 12; i < nameEnd; i++) {
    const c = lower[i]!;
    if (c >= 0x41 && c <= 0x5a) lower[i] = c + 0x20;
  }
  const name = lower.subarray(12, nameEnd);
  const key = { name, meta: p.meta, flavour: p.flavour };
  const uncached: Entry = { bytes: null, nameAt: [], uncached: true, ...key };
  const bytes = respond(lower, () => z, transport);
  if (bytes === null) return { bytes: null, nameAt: [], ...key };
  const nameAt: number[] = [];
  // The question, echoed at 12 (FORMERR answers have none).
  if (bytes.length >= nameEnd && bytes.readUInt16BE(4) === 1 && bytes.subarray(12, nameEnd).equals(name)) {
    nameAt.push(12);
    // The answers: respond.ts names them as asked (zone.ts), without compression (dns-packet).
    let off = nameEnd + 4;
    for (let i = bytes.readUInt16BE(6); i > 0; i--) {
      const start = off;
      for (;;) {
        const len = bytes[off];
        // A compression pointer would mean another encoder: keep it exact by not caching.
        if (len === undefined || len > 63) return uncached;
        off += 1 + len;
        if (len === 0) break;
      }
      if (off - start === name.length && bytes.subarray(start, off).equals(name)) nameAt.push(start);
      if (off + 10 > bytes.length) return uncached;
      off += 10 + bytes.readUInt16BE(off + 8);
    }
  }
  return { bytes, nameAt, ...key };
}
