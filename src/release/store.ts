// Reading releases: rows in state.db point at the manifest blob in the OCI layout, which is
// read back and verified against its digest.
import { KilnError } from '../errors.js';
import type { OciLayout } from '../store/oci-layout.js';
import type { Database } from '../store/state-db.js';
import type { Digest, ReleaseManifest, ReleaseRecord } from './types.js';

export interface ReleaseSummary {
  name: string;
  number: number;
  digest: Digest;
  parent: string | null;
  createdAt: string;
}

interface ReleaseRow {
  number: number;
  name: string;
  digest: string;
  parent: string | null;
  created_at: string;
}

export function releaseRef(name: string): string {
  return `release/${name}`;
}

function toSummary(r: ReleaseRow): ReleaseSummary {
  return { name: r.name, number: r.number, digest: r.digest, parent: r.parent, createdAt: r.created_at };
}

/** All releases, oldest first. */
export function listReleases(db: Database): ReleaseSummary[] {
  return (db.prepare('SELECT * FROM releases ORDER BY number').all() as ReleaseRow[]).map(toSummary);
}

function load(oci: OciLayout, row: ReleaseRow): ReleaseRecord {
  const raw = oci.readBlob(row.digest);
  let manifest: ReleaseManifest;
  try {
    manifest = JSON.parse(raw.toString('utf8')) as ReleaseManifest;
  } catch (e) {
    throw new KilnError('CORRUPT_STORE', `release ${row.name}'s manifest ${row.digest} is not JSON: ${(e as Error).message}`);
  }
  if (manifest.schema !== 'kiln.release.v1' || manifest.number !== row.number) {
    throw new KilnError('CORRUPT_STORE', `blob ${row.digest} is not the manifest of release ${row.name}`);
  }
  return { name: row.name, number: row.number, digest: row.digest, manifest };
}

export function latestRelease(db: Database, oci: OciLayout): ReleaseRecord | undefined {
  const row = db.prepare('SELECT * FROM releases ORDER BY number DESC LIMIT 1').get() as ReleaseRow | undefined;
  return row ? load(oci, row) : undefined;
}

/** "r3", "3" or 3. Unknown: RELEASE_NOT_FOUND naming the newest releases. */
export function getRelease(db: Database, oci: OciLayout, nameOrNumber: string | number): ReleaseRecord {
  const m = /^r?(\d+)$/i.exec(String(nameOrNumber).trim());
  const row = m ? (db.prepare('SELECT * FROM releases WHERE number = ?').get(Number(m[1])) as ReleaseRow | undefined) : undefined;
  if (row) return load(oci, row);
  const newest = (db.prepare('SELECT name FROM releases ORDER BY number DESC LIMIT 5').all() as Array<{ name: string }>).map((r) => r.name);
  const what = m ? `release r${Number(m[1])} does not exist` : `"${nameOrNumber}" is not a release name (expected r<N>, e.g. r3)`;
  throw new KilnError('RELEASE_NOT_FOUND', `${what}; ${newest.length ? `newest releases: ${newest.join(', ')}` : 'there are no releases yet'}`, {
    location: { tag: String(nameOrNumber) },
    hint: newest.length ? 'see `kiln release list`' : 'run `kiln release create`',
  });
}
