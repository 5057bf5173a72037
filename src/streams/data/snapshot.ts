// Snapshots: an immutable copy of a store, as one blob in the content-addressed store
// (.kiln/oci), tagged data/<store>:<position>-<n>. SQLite: the online backup API (servers keep
// reading and writing meanwhile). PostgreSQL: pg_dump's custom format. The migration lock is
// held while copying, so the recorded position is exactly the copy's.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { KilnError } from '../../errors.js';
import type { Store } from '../../store/init.js';
import { fsyncDir, tempPathFor } from '../../store/atomic.js';
import type { Descriptor, OciLayout } from '../../store/oci-layout.js';
import { MEDIA } from '../../store/oci-layout.js';
import { connectStore, describeLocation, pgTargetOf, type StoreLocation } from './bindings.js';
import type { Changelog } from './changelog.js';
import { runTool } from './exec.js';
import { acquireLock, processAlive } from './lock.js';
import { assertConsistent, storeStatus } from './migrate.js';
import { pgDumpCommand, withPassFile } from './postgres.js';
import { pgTemplateName } from './replica.js';
import { dropPgTemplates, storeTemplates, type TemplatePrune } from './templates.js';
import { dataStream, insertDataTag, type DataTag } from './tags.js';

export const DATA_MEDIA = {
  artifact: 'application/vnd.kiln.data.v1',
  sqlite: 'application/vnd.kiln.data.sqlite.v1',
  pgDump: 'application/vnd.kiln.data.pgdump.v1',
} as const;

/** A temp file inside the blob directory, so adopting it is a rename on the same filesystem. */
export function incomingBlobPath(oci: OciLayout): string {
  return tempPathFor(path.join(oci.dir, 'blobs', 'sha256', 'incoming'));
}

/**
 * A snapshot killed with -9 leaves its half-written blob (.incoming.tmp-<pid>-<rand>, possibly a
 * whole database's size): the next snapshot removes those whose process is gone.
 */
export function removeOrphanIncoming(oci: OciLayout): void {
  const dir = path.join(oci.dir, 'blobs', 'sha256');
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) {
    const pid = Number(/^\.incoming\.tmp-(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** Moves a finished file into the store under its digest (read-only), hashing it on the way. */
export function adoptBlobFile(oci: OciLayout, tmp: string): { digest: string; size: number } {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(tmp, 'r+');
  let size = 0;
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) {
      hash.update(buf.subarray(0, n));
      size += n;
    }
    fs.fsyncSync(fd);
    fs.fchmodSync(fd, 0o400);
  } finally {
    fs.closeSync(fd);
  }
  const digest = 'sha256:' + hash.digest('hex');
  const final = oci.blobPath(digest);
  if (fs.existsSync(final)) fs.rmSync(tmp, { force: true });
  else fs.renameSync(tmp, final);
  fsyncDir(path.dirname(final));
  return { digest, size };
}

export interface SnapshotResult {
  tag: DataTag;
  ref: string;
  /** PostgreSQL: templates of this store's older snapshots dropped on the store's server. */
  templates?: TemplatePrune;
}

export async function snapshotStore(store: Store, loc: StoreLocation, changelog: Changelog): Promise<SnapshotResult> {
  const what = describeLocation(loc);
  if (loc.engine === 'sqlite' && !fs.existsSync(loc.file)) {
    throw new KilnError('DATA_FAILED', `${what} does not exist yet`, { hint: `create it: kiln data migrate ${loc.store} --env ${loc.env}` });
  }
  removeOrphanIncoming(store.oci);
  const conn = await connectStore(loc);
  const tmp = incomingBlobPath(store.oci);
  try {
    const status = await storeStatus(conn, changelog);
    assertConsistent(status, what);
    const lock = await acquireLock(conn, what);
    try {
      if (loc.engine === 'sqlite') await sqliteBackup(loc.file, tmp);
      else {
        const t = pgTargetOf(loc);
        await withPassFile(t, (pass) => runTool(pgDumpCommand(t, tmp, pass), `snapshot of ${what}`));
      }
    } finally {
      await lock.release();
    }
    const blob = adoptBlobFile(store.oci, tmp);
    const layer: Descriptor = { mediaType: loc.engine === 'sqlite' ? DATA_MEDIA.sqlite : DATA_MEDIA.pgDump, digest: blob.digest, size: blob.size };
    const position = status.position;
    const manifest = store.oci.putArtifact(DATA_MEDIA.artifact, [layer], { 'dev.kiln.data.store': loc.store, 'dev.kiln.data.position': String(position) });
    const tag = insertDataTag(store.db, loc.store, {
      digest: blob.digest,
      size: blob.size,
      manifestDigest: manifest.digest,
      source: { env: loc.env, engine: loc.engine, position, entryChecksum: changelog.entries[position - 1]?.checksum ?? null },
    });
    const ref = `${dataStream(loc.store)}:${tag.tag}`;
    store.oci.setRef(ref, { ...manifest, mediaType: MEDIA.manifest });
    if (loc.engine === 'sqlite') return { tag, ref };
    // A newer snapshot makes the older ones' template databases on this server dead weight.
    const templates = await dropPgTemplates(conn, storeTemplates(store, loc.store), new Set([pgTemplateName(tag.digest)]));
    return { tag, ref, templates };
  } finally {
    fs.rmSync(tmp, { force: true });
    await conn.close();
  }
}

/**
 * Online backup into `dest`, then made self-contained: the copied lock row is removed and the
 * journal mode set back to DELETE, so the blob is one file that opens anywhere.
 */
async function sqliteBackup(src: string, dest: string): Promise<void> {
  const db = new BetterSqlite3(src, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    // All remaining pages in one step (better-sqlite3 treats 0 as "none", hence the large
    // number): a multi-step copy restarts whenever a server writes, and in WAL mode one long
    // read never blocks the servers' writers anyway.
    await db.backup(dest, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
  const copy = new BetterSqlite3(dest);
  try {
    copy.exec('DELETE FROM kiln_lock');
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
}
