// Data tags: data/<store>:<position>-<n>, one per snapshot, in the same tags table as app tags
// (src/store/schema.ts). The tag records the changelog position the snapshot is at and the
// snapshot's digest; <n> counts snapshots taken at that position (0007-1, 0007-2, …).
import { KilnError } from '../../errors.js';
import type { Database } from '../../store/state-db.js';
import { getTag, listTags, type TagRecord } from '../app/tags.js';
import { formatPosition } from './changelog.js';

export interface DataTagSource {
  env: string;
  engine: 'sqlite' | 'postgres';
  position: number;
  /** Checksum of the entry at `position` (null at position 0): ties the snapshot to the changelog. */
  entryChecksum: string | null;
}

export interface DataTag extends Omit<TagRecord, 'source'> {
  source: DataTagSource;
}

export function dataStream(store: string): string {
  return `data/${store}`;
}

function toDataTag(t: TagRecord): DataTag {
  return { ...t, source: t.source as unknown as DataTagSource };
}

/** Tags the snapshot with the next free data/<store>:<position>-<n>, in one IMMEDIATE transaction. */
export function insertDataTag(db: Database, store: string, rec: { digest: string; size: number; manifestDigest: string; source: DataTagSource }): DataTag {
  const stream = dataStream(store);
  return db.transaction(() => {
    const prefix = `${formatPosition(rec.source.position)}-`;
    const taken = (db.prepare('SELECT tag FROM tags WHERE stream = ? AND tag LIKE ?').all(stream, `${prefix}%`) as Array<{ tag: string }>)
      .map((r) => Number(r.tag.slice(prefix.length)))
      .filter((n) => Number.isInteger(n));
    const tag = `${prefix}${Math.max(0, ...taken) + 1}`;
    db.prepare(
      `INSERT INTO tags (stream, tag, digest, size, manifest_digest, created_at, source) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(stream, tag, rec.digest, rec.size, rec.manifestDigest, new Date().toISOString(), JSON.stringify(rec.source));
    return toDataTag(getTag(db, stream, tag) as TagRecord);
  }).immediate();
}

export function listDataTags(db: Database, store: string): DataTag[] {
  return listTags(db, dataStream(store)).map(toDataTag);
}

/** A data tag by name ("0003-1" or "data/orders:0003-1"), or the newest snapshot of an environment (at or before maxPosition). */
export function findSnapshot(db: Database, store: string, by: { tag?: string; env?: string; maxPosition?: number }): DataTag {
  const stream = dataStream(store);
  const all = listDataTags(db, store);
  if (by.tag) {
    const name = by.tag.startsWith(`${stream}:`) ? by.tag.slice(stream.length + 1) : by.tag;
    const t = all.find((x) => x.tag === name);
    if (t) return t;
    throw new KilnError('TAG_NOT_FOUND', `${stream}:${name} does not exist`, {
      location: { tag: `${stream}:${name}` },
      hint: all.length ? `snapshots (newest first): ${all.map((x) => x.tag).reverse().slice(0, 10).join(', ')}` : `take one: kiln data snapshot ${store} --env <env>`,
    });
  }
  const t = all.filter((x) => x.source.env === by.env && x.source.position <= (by.maxPosition ?? Infinity)).at(-1);
  if (t) return t;
  throw new KilnError('TAG_NOT_FOUND', `store ${store} has no snapshot of environment "${by.env}"${by.maxPosition !== undefined ? ` at or before position ${formatPosition(by.maxPosition)}` : ''}`, {
    location: { flag: '--from' },
    hint: `take one first: kiln data snapshot ${store} --env ${by.env}`,
  });
}
