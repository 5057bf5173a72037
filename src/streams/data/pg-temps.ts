// Temporary PostgreSQL databases: a replica (<db>_kt_<pid>_<rand>) or a snapshot's template
// (kiln_snap_<digest>_kt_<pid>_<rand>) is built under such a name and renamed when complete.
// Whoever builds one holds a session-level advisory lock keyed by its name on the admin
// connection, taken BEFORE the database is created and kept until it is renamed or dropped. The
// server releases the lock when that session ends, so a process killed with -9 (on any host, pid
// reused or not) frees it at once; a temporary whose lock is free therefore has no owner and is
// dropped by the next replica, `kiln data prune`, `kiln env create` or `kiln env destroy`.
import crypto from 'node:crypto';
import type { StoreConnection } from './engine.js';
import { quoteIdent } from './postgres.js';

/** The first key of Kiln's advisory locks ("Kiln" in ASCII); the second is hashtext(<name>). */
const LOCK_CLASS = 0x4b696c6e;

const TEMP = /_kt_\d+_[0-9a-f]{6}$/;

/** The temporary database name of a replica: <db>_kt_<pid>_<rand>, within 63 characters. */
export function pgTempName(db: string): string {
  return `${pgTempPrefix(db)}${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
}

/** What every temporary of `db` starts with. */
export function pgTempPrefix(db: string): string {
  return `${db.slice(0, 40)}_kt_`;
}

/**
 * Marks `name` as owned by this session (call before CREATE DATABASE). Also asks the server to
 * notice a vanished client during a long statement (a CREATE DATABASE … TEMPLATE copy), so a
 * killed builder's statement is aborted within a second instead of finishing for nobody.
 */
export async function claimPgTemp(admin: StoreConnection, name: string): Promise<void> {
  // PostgreSQL 14+; older servers just take longer to notice.
  await admin.exec("SET client_connection_check_interval = '1s'").catch(() => undefined);
  await admin.query('SELECT pg_advisory_lock(?, hashtext(?))', [LOCK_CLASS, name]);
}

/** Ends the claim on `name` (after the rename or drop), so a long-lived session holds no stale locks. */
export async function releasePgTemp(admin: StoreConnection, name: string): Promise<void> {
  await admin.query('SELECT pg_advisory_unlock(?, hashtext(?))', [LOCK_CLASS, name]);
}

export interface PgTempSweep {
  /** Where to look: temporaries of these databases (replica names or template names). */
  databases?: string[];
  /** Also every snapshot template's temporary on the server (templates are shared by digest). */
  templates?: boolean;
  /** Drop these databases' temporaries even when owned (the environment they belong to is being destroyed). */
  force?: string[];
}

/**
 * Drops the temporaries that no live session owns and returns their names. One whose owner is
 * alive (a replica being made right now) is left alone.
 */
export async function dropOrphanPgTemps(admin: StoreConnection, sweep: PgTempSweep): Promise<string[]> {
  const prefixes = (sweep.databases ?? []).map(pgTempPrefix);
  if (sweep.templates) prefixes.push('kiln_snap_');
  if (!prefixes.length) return [];
  // Only a prefix that is a whole name (at most 40 characters) is unambiguous enough to force.
  const forced = (sweep.force ?? []).filter((d) => d.length <= 40).map(pgTempPrefix);
  const rows = await admin.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY datname');
  const dropped: string[] = [];
  for (const { datname } of rows) {
    if (!TEMP.test(datname) || !prefixes.some((p) => datname.startsWith(p))) continue;
    const force = forced.some((p) => datname.startsWith(p));
    if (!force && !(await unowned(admin, datname))) continue;
    // A half-restored template may already be marked as one: PostgreSQL refuses to drop those.
    await admin.exec(`ALTER DATABASE ${quoteIdent(datname)} WITH IS_TEMPLATE false`).catch(() => undefined);
    await admin.exec(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
    dropped.push(datname);
  }
  return dropped;
}

/** True when no session holds the temporary's lock (taken and given back at once here). */
async function unowned(admin: StoreConnection, name: string): Promise<boolean> {
  const [row] = await admin.query<{ free: boolean }>('SELECT pg_try_advisory_lock(?, hashtext(?)) AS free', [LOCK_CLASS, name]);
  if (!row?.free) return false;
  await releasePgTemp(admin, name);
  return true;
}
