// Tags of a stream in state.db: immutable names bound to a digest forever. Same version and
// same content is a no-op; same version with other content is an error (pick a new version).
import { KilnError } from '../../errors.js';
import type { Digest } from '../../release/types.js';
import type { Database } from '../../store/state-db.js';

/** Where a tag came from, stored as JSON with the tag (e.g. {"path":"apps/api","build":[...]}). */
export interface TagSource {
  path?: string;
  build?: string[];
  output?: string;
  /** Git commit of the app's source ("<sha>+dirty" with uncommitted changes); absent outside git. */
  revision?: string;
  /** The OS tag whose image the build ran in (absent: built on the host). */
  builtIn?: string;
  /** The declared build-env the build ran with (names and values; absent when none). */
  buildEnv?: Record<string, string>;
}

export interface TagRecord {
  /** "app/api" */
  stream: string;
  /** "1.0.0" */
  tag: string;
  /** Digest of the content: for app tags, the uncompressed tar layer (its blob in the OCI layout). */
  digest: Digest;
  size: number;
  /** Digest of the OCI manifest referenced as "<stream>:<tag>" in index.json. */
  manifestDigest: Digest;
  createdAt: string;
  /** Creation order; the head of a stream is its tag with the highest seq. */
  seq: number;
  source: TagSource;
}

export const HEAD = 'head';
const RESERVED = new Set(['head', 'latest']);
// The OCI distribution spec's tag grammar.
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Why `tag` can't be a version name, or null. */
export function tagProblem(tag: string): string | null {
  if (!TAG_RE.test(tag)) {
    return 'must be 1-128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"';
  }
  if (tag.includes('..')) return 'must not contain ".."';
  if (RESERVED.has(tag.toLowerCase())) return `"${tag}" is reserved (head names a stream's newest tag)`;
  return null;
}

export function validateTag(stream: string, tag: string): void {
  const p = tagProblem(tag);
  if (p) {
    throw new KilnError('NAME_INVALID', `tag "${tag}" ${p}`, {
      location: { tag: `${stream}:${tag}` },
      hint: 'use a version such as 1.0.0',
    });
  }
}

interface TagRow {
  seq: number;
  stream: string;
  tag: string;
  digest: string;
  size: number;
  manifest_digest: string;
  created_at: string;
  source: string;
}

function toRecord(r: TagRow): TagRecord {
  return {
    stream: r.stream,
    tag: r.tag,
    digest: r.digest,
    size: r.size,
    manifestDigest: r.manifest_digest,
    createdAt: r.created_at,
    seq: r.seq,
    source: JSON.parse(r.source) as TagSource,
  };
}

export function getTag(db: Database, stream: string, tag: string): TagRecord | undefined {
  const row = db.prepare('SELECT * FROM tags WHERE stream = ? AND tag = ?').get(stream, tag) as TagRow | undefined;
  return row ? toRecord(row) : undefined;
}

/** Tags of a stream, oldest first (the last one is the head). */
export function listTags(db: Database, stream: string): TagRecord[] {
  return (db.prepare('SELECT * FROM tags WHERE stream = ? ORDER BY seq').all(stream) as TagRow[]).map(toRecord);
}

/** Every stream that has tags, e.g. ["app/api", "app/web"]. */
export function listStreams(db: Database, prefix = ''): string[] {
  const rows = db.prepare('SELECT DISTINCT stream FROM tags WHERE stream LIKE ? ORDER BY stream').all(`${prefix}%`) as Array<{ stream: string }>;
  return rows.map((r) => r.stream);
}

/**
 * The hint for a stream without tags, e.g. "run `kiln app tag api <version>`": the command that
 * makes a tag of that kind, each spelled out (src/cli/hints.test.ts checks they exist).
 */
export function tagCommandHint(stream: string): string {
  const [kind, name] = stream.split('/');
  switch (kind) {
    case 'app':
      return `run \`kiln app tag ${name} <version>\``;
    case 'os':
      return `run \`kiln os build ${name}\``;
    case 'data':
      return `run \`kiln data snapshot ${name} --env <env>\``;
    case 'image':
      return `run \`kiln image build ${name}\``;
    default:
      return `${stream} is made by Kiln; see kiln --help`;
  }
}

/** A tag by name, or the stream's newest tag for "head". */
export function resolveTag(db: Database, stream: string, tagOrHead: string): TagRecord {
  if (tagOrHead === HEAD) {
    const row = db.prepare('SELECT * FROM tags WHERE stream = ? ORDER BY seq DESC LIMIT 1').get(stream) as TagRow | undefined;
    if (!row) {
      throw new KilnError('TAG_NOT_FOUND', `${stream} has no tags; ${tagCommandHint(stream)}`, {
        location: { tag: `${stream}:${HEAD}` },
      });
    }
    return toRecord(row);
  }
  const found = getTag(db, stream, tagOrHead);
  if (found) return found;
  const existing = listTags(db, stream).map((t) => t.tag).reverse();
  const known = existing.length
    ? `existing tags (newest first): ${existing.slice(0, 10).join(', ')}${existing.length > 10 ? `, … (${existing.length} in all)` : ''}`
    : `${stream} has no tags yet; ${tagCommandHint(stream)}`;
  throw new KilnError('TAG_NOT_FOUND', `tag ${stream}:${tagOrHead} does not exist; ${known}`, {
    location: { tag: `${stream}:${tagOrHead}` },
  });
}

/**
 * The existing tag if stream:tag already holds `digest`; undefined if the tag is free;
 * TAG_CONFLICT if it holds other content (tags are immutable).
 */
export function assertTagFree(db: Database, stream: string, tag: string, digest: string): TagRecord | undefined {
  const existing = getTag(db, stream, tag);
  if (!existing || existing.digest === digest) return existing;
  throw new KilnError(
    'TAG_CONFLICT',
    `${stream}:${tag} already exists with digest ${existing.digest}; this build is ${digest}. Tags are immutable`,
    { location: { tag: `${stream}:${tag}` }, hint: 'pick a new version for changed content' },
  );
}

/**
 * Bind stream:tag to a digest, inside one IMMEDIATE transaction so two concurrent kiln
 * processes can't both create it. Returns created=false when it already holds this digest.
 */
export function insertTag(
  db: Database,
  rec: Omit<TagRecord, 'seq' | 'createdAt'>,
): { created: boolean; tag: TagRecord } {
  return db.transaction(() => {
    const existing = assertTagFree(db, rec.stream, rec.tag, rec.digest);
    if (existing) return { created: false, tag: existing };
    db.prepare(
      `INSERT INTO tags (stream, tag, digest, size, manifest_digest, created_at, source)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(rec.stream, rec.tag, rec.digest, rec.size, rec.manifestDigest, new Date().toISOString(), JSON.stringify(rec.source));
    return { created: true, tag: getTag(db, rec.stream, rec.tag) as TagRecord };
  }).immediate();
}
