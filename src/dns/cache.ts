// Answers by query bytes. A response is a pure function of the query's bytes after its id, the
// zone and the transport, so for the same Zone object an identical query (same name spelling,
// type, flags, EDNS) gets the cached bytes with its own id written in: no decode, no encode.
// A new snapshot is a new Zone, which starts an empty cache: nothing stale is ever served.
import { respond, type Transport } from './respond.js';
import type { Zone } from './zone.js';

/** Queries longer than this (unusual: big EDNS options) are answered but not cached. */
const MAX_KEY_BYTES = 300;

export class ResponseCache {
  private zone: Zone | null = null;
  private readonly entries = new Map<string, Buffer | null>();

  /** @param size entries kept per zone; 0 disables the cache. */
  constructor(private readonly size: number) {}

  respond(query: Buffer, zone: () => Zone, transport: Transport): Buffer | null {
    if (this.size === 0 || query.length < 12 || query.length > MAX_KEY_BYTES) return respond(query, zone, transport);
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
    const key = transport[0] + query.toString('latin1', 2);
    let out = this.entries.get(key);
    if (out === undefined) {
      out = respond(query, () => z, transport);
      // Full: start over rather than track recency; a zone has few names, so this is rare.
      if (this.entries.size >= this.size) this.entries.clear();
      this.entries.set(key, out);
    }
    if (!out) return null;
    const copy = Buffer.from(out);
    copy.writeUInt16BE(query.readUInt16BE(0), 0);
    return copy;
  }
}
