// The two tables Kiln keeps inside every store: kiln_changelog (one row per applied entry, written
// in the same transaction as the entry itself, so a row exists exactly when its entry's effects
// do) and kiln_lock (at most one row: who is migrating). Plain SQL that SQLite and PostgreSQL
// both accept.
import type { StoreConnection } from './engine.js';

export interface AppliedEntry {
  position: number;
  name: string;
  checksum: string;
  appliedAt: string;
  durationMs: number;
  /** The release that applied it, when applied by a deploy. */
  release: string | null;
}

const TABLES = `
  CREATE TABLE IF NOT EXISTS kiln_changelog (
    position    INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    applied_at  TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    release     TEXT
  );
  CREATE TABLE IF NOT EXISTS kiln_lock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    owner       TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
  );`;

export async function ensureKilnTables(conn: StoreConnection): Promise<void> {
  try {
    await conn.exec(TABLES);
  } catch (e) {
    // Two PostgreSQL sessions creating the same table at once: one loses a catalog race; the
    // tables exist now, which is all we wanted.
    if ((e as { code?: string }).code !== '23505') throw e;
  }
}

interface HistoryRow {
  position: number | string;
  name: string;
  checksum: string;
  applied_at: string;
  duration_ms: number | string;
  release: string | null;
}

export async function readHistory(conn: StoreConnection): Promise<AppliedEntry[]> {
  const rows = await conn.query<HistoryRow>('SELECT position, name, checksum, applied_at, duration_ms, release FROM kiln_changelog ORDER BY position');
  return rows.map((r) => ({
    position: Number(r.position),
    name: r.name,
    checksum: r.checksum,
    appliedAt: r.applied_at,
    durationMs: Number(r.duration_ms),
    release: r.release,
  }));
}

export async function recordApplied(conn: StoreConnection, e: Omit<AppliedEntry, 'appliedAt'>): Promise<void> {
  await conn.query('INSERT INTO kiln_changelog (position, name, checksum, applied_at, duration_ms, release) VALUES (?, ?, ?, ?, ?, ?)', [
    e.position,
    e.name,
    e.checksum,
    new Date().toISOString(),
    e.durationMs,
    e.release,
  ]);
}
