// Replicas: a new store made from a snapshot, then the changelog applied up to a position. It is
// built under a temporary name and renamed into place only when complete, so a failure (or a
// kill -9) never leaves a half-made store under the real name. Temporaries left by a killed
// process are removed by the next replica of the same store (PostgreSQL: also by `kiln data
// prune` and `kiln env create/destroy`; ownership is an advisory lock, see pg-temps.ts).
//   SQLite:     <dir>/.<file>.tmp-<pid>-<rand>  -> rename(2) over <file>
//   PostgreSQL: <db>_kt_<pid>_<rand>            -> ALTER DATABASE … RENAME TO <db>
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { KilnError } from '../../errors.js';
import { fsyncDir, tempPathFor } from '../../store/atomic.js';
import type { Store } from '../../store/init.js';
import { verifyBlobFile } from '../../store/oci-layout.js';
import { describeLocation, pgTargetOf, type StoreLocation } from './bindings.js';
import { formatPosition, type Changelog } from './changelog.js';
import { runTool } from './exec.js';
import { processAlive } from './lock.js';
import type { MigrateResult } from './migrate.js';
import { runOffThread } from './off-thread.js';
import { checkDbName, openPostgres, pgRestoreCommand, quoteIdent, removeOrphanPassFiles, withPassFile, type PgTarget } from './postgres.js';
import { claimPgTemp, dropOrphanPgTemps, pgTempName, releasePgTemp } from './pg-temps.js';
import type { DataTag } from './tags.js';
import { dropPgTemplates, storeTemplates } from './templates.js';

/**
 * How a PostgreSQL replica gets the snapshot's data. `template`: the snapshot is restored once
 * into a template database (kiln_snap_<digest>) on the target server, and each replica is a
 * file-level CREATE DATABASE … TEMPLATE copy of it; `restore`: pg_restore into every replica.
 * The default is `template`: see bench/data-pg-replica.js for the measurement.
 */
export type PgReplicaStrategy = 'template' | 'restore';

export interface ReplicaOptions {
  /** Apply the changelog up to here (default: its head). */
  toPosition?: number;
  /** Replace an existing store of that name (default: refuse). */
  replace?: boolean;
  pgStrategy?: PgReplicaStrategy;
  release?: string;
}

export interface ReplicaResult {
  store: string;
  env: string;
  snapshot: string;
  snapshotPosition: number;
  migrate: MigrateResult;
  strategy?: PgReplicaStrategy;
}

export async function createReplica(store: Store, loc: StoreLocation, changelog: Changelog, snap: DataTag, opts: ReplicaOptions = {}): Promise<ReplicaResult> {
  const what = `replica ${describeLocation(loc)}`;
  const ref = `data/${loc.store}:${snap.tag}`;
  if (snap.source.engine !== loc.engine) {
    throw new KilnError('USAGE', `${ref} is a ${snap.source.engine} snapshot; store ${loc.store} is ${loc.engine} in environment "${loc.env}"`, {
      location: { tag: ref },
      hint: 'replicate between environments that use the same engine',
    });
  }
  const position = snap.source.position;
  if (opts.toPosition !== undefined && opts.toPosition < position) {
    throw new KilnError('USAGE', `${ref} is at position ${formatPosition(position)}, beyond --to-position ${formatPosition(opts.toPosition)}`, {
      location: { flag: '--to-position' },
      hint: 'pick an older snapshot (a changelog only moves forward)',
    });
  }
  const expected = changelog.entries[position - 1]?.checksum ?? null;
  if (position > changelog.entries.length || expected !== snap.source.entryChecksum) {
    throw new KilnError('DATA_CHANGELOG', `${ref} was taken at position ${formatPosition(position)}, which the changelog in ${changelog.dir} no longer matches`, {
      location: { tag: ref },
      hint: 'applied entries must never change; restore the changelog',
    });
  }
  const migrateOpts = { ...(opts.toPosition !== undefined ? { toPosition: opts.toPosition } : {}), ...(opts.release ? { release: opts.release } : {}) };
  const base = { store: loc.store, env: loc.env, snapshot: ref, snapshotPosition: position };
  if (loc.engine === 'sqlite') {
    const migrate = await sqliteReplica(store, loc.file, snap, changelog, what, migrateOpts, opts.replace ?? false);
    return { ...base, migrate };
  }
  const strategy = opts.pgStrategy ?? 'template';
  const migrate = await pgReplica(store, pgTargetOf(loc), snap, changelog, what, migrateOpts, opts.replace ?? false, strategy, loc.store);
  return { ...base, migrate, strategy };
}

/** The replica's migration ran on a worker thread (off-thread.ts); this is its result. */
function resultOf(r: MigrateResult): MigrateResult {
  return { from: r.from, to: r.to, applied: r.applied };
}

// ---- SQLite -------------------------------------------------------------------------------

async function sqliteReplica(
  store: Store,
  file: string,
  snap: DataTag,
  changelog: Changelog,
  what: string,
  migrateOpts: { toPosition?: number; release?: string },
  replace: boolean,
): Promise<MigrateResult> {
  if (fs.existsSync(file) && !replace) {
    throw new KilnError('USAGE', `${file} already exists`, { hint: 'pass --replace to replace it with the replica' });
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  removeStaleSqliteTemps(file);
  const tmp = tempPathFor(file);
  try {
    await copyVerified(store.oci.blobPath(snap.digest), snap.digest, tmp);
    const result = resultOf(await runOffThread({ target: { kind: 'sqlite', file: tmp, label: what }, changelog, what, ...migrateOpts, checkpoint: true }));
    const fd = fs.openSync(tmp, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    // An old store's WAL must not be replayed into the new file.
    for (const suffix of ['-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
    fs.renameSync(tmp, file);
    fsyncDir(path.dirname(file));
    return result;
  } finally {
    for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(tmp + suffix, { force: true });
  }
}

/** Copies a blob, hashing on the way: a damaged snapshot is refused, never replicated. */
async function copyVerified(blob: string, digest: string, dest: string): Promise<void> {
  const hash = crypto.createHash('sha256');
  const tap = new Transform({
    highWaterMark: 4 << 20,
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(fs.createReadStream(blob, { highWaterMark: 4 << 20 }), tap, fs.createWriteStream(dest, { flags: 'wx', mode: 0o644 }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(blob)) {
      throw new KilnError('CORRUPT_STORE', `snapshot blob ${digest} is missing from the store`, { hint: 'take a new snapshot' });
    }
    throw e;
  }
  const actual = 'sha256:' + hash.digest('hex');
  if (actual !== digest) {
    throw new KilnError('CORRUPT_STORE', `snapshot blob ${digest} is corrupted (its content hashes to ${actual})`, { hint: 'remove the damaged blob and take a new snapshot' });
  }
}

const TEMP_PID = /\.tmp-(\d+)-[0-9a-f]+(-wal|-shm|-journal)?$/;

function removeStaleSqliteTemps(file: string): void {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.tmp-`;
  for (const name of fs.readdirSync(dir)) {
    const m = TEMP_PID.exec(name);
    if (name.startsWith(prefix) && m && !processAlive(Number(m[1]))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

// ---- PostgreSQL ---------------------------------------------------------------------------

export { pgTempName } from './pg-temps.js';

/** The template database holding one snapshot on a server. */
export function pgTemplateName(digest: string): string {
  return `kiln_snap_${digest.replace(/^sha256:/, '').slice(0, 24)}`;
}

async function pgReplica(
  store: Store,
  t: PgTarget,
  snap: DataTag,
  changelog: Changelog,
  what: string,
  migrateOpts: { toPosition?: number; release?: string },
  replace: boolean,
  strategy: PgReplicaStrategy,
  storeName: string,
): Promise<MigrateResult> {
  const db = checkDbName(t.database);
  const admin = await openPostgres(t, 'postgres');
  try {
    const exists = async (name: string) => (await admin.query('SELECT 1 FROM pg_database WHERE datname = ?', [name])).length > 0;
    if ((await exists(db)) && !replace) {
      throw new KilnError('USAGE', `database ${db} already exists`, { hint: 'pass --replace to replace it with the replica' });
    }
    await dropOrphanPgTemps(admin, { databases: [db], templates: true });
    removeOrphanPassFiles();
    const blob = verifyBlobFile(store.oci, snap.digest);
    const tmp = pgTempName(db);
    await claimPgTemp(admin, tmp);
    try {
      if (strategy === 'restore') {
        await admin.exec(`CREATE DATABASE ${quoteIdent(tmp)}`);
        await withPassFile(t, (pass) => runTool(pgRestoreCommand(t, tmp, blob, pass, 2), what));
      } else {
        const template = await ensurePgTemplate(admin, t, blob, snap.digest, what, exists);
        // FILE_COPY copies the template's files instead of WAL-logging every block (PG 15+).
        await admin.exec(`CREATE DATABASE ${quoteIdent(tmp)} TEMPLATE ${quoteIdent(template)} STRATEGY FILE_COPY`);
      }
      const result = resultOf(await runOffThread({ target: { kind: 'postgres', target: t, database: tmp }, changelog, what, ...migrateOpts }));
      if (replace) await admin.exec(`DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`);
      await admin.exec(`ALTER DATABASE ${quoteIdent(tmp)} RENAME TO ${quoteIdent(db)}`);
      await releasePgTemp(admin, tmp);
      if (strategy === 'template') {
        // Keep the template just used and the newest snapshot's; older ones of this store go.
        const names = storeTemplates(store, storeName);
        await dropPgTemplates(admin, names, new Set([pgTemplateName(snap.digest), ...names.slice(-1)]));
      }
      return result;
    } catch (e) {
      await admin.exec(`DROP DATABASE IF EXISTS ${quoteIdent(tmp)} WITH (FORCE)`).catch(() => undefined);
      throw e;
    }
  } finally {
    await admin.close();
  }
}

/** The snapshot's template database, restored once (under a temporary name, then renamed). */
async function ensurePgTemplate(
  admin: import('./engine.js').StoreConnection,
  t: PgTarget,
  blob: string,
  digest: string,
  what: string,
  exists: (name: string) => Promise<boolean>,
): Promise<string> {
  const name = pgTemplateName(digest);
  if (await exists(name)) return name;
  const tmp = pgTempName(name);
  await claimPgTemp(admin, tmp);
  try {
    await admin.exec(`CREATE DATABASE ${quoteIdent(tmp)}`);
    await withPassFile(t, (pass) => runTool(pgRestoreCommand(t, tmp, blob, pass, 2), what));
    await admin.exec(`ALTER DATABASE ${quoteIdent(tmp)} RENAME TO ${quoteIdent(name)}`);
    // Nobody connects to a template: no session may block the next copy.
    await admin.exec(`ALTER DATABASE ${quoteIdent(name)} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`);
  } catch (e) {
    await admin.exec(`DROP DATABASE IF EXISTS ${quoteIdent(tmp)} WITH (FORCE)`).catch(() => undefined);
    if (!(await exists(name))) throw e; // another replica made it first: that is the same data
  } finally {
    await releasePgTemp(admin, tmp).catch(() => undefined);
  }
  return name;
}
