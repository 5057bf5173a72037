// .kiln/state.db: the small relational state next to the OCI layout (tags, releases, and
// later deployments). SQLite in WAL mode so the control plane can read while a CLI writes.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { KilnError } from '../errors.js';
import { MIGRATIONS, type Migration } from './schema.js';
import { storageError } from './storage-error.js';

/** An open better-sqlite3 connection to state.db. */
export type Database = BetterSqlite3.Database;
type Db = Database;

export function openStateDb(kilnDir: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  const file = path.join(kilnDir, 'state.db');
  let db: Db;
  try {
    db = new BetterSqlite3(file);
  } catch (e) {
    throw readOnlyStore(e, kilnDir, file) ?? e;
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // NORMAL in WAL mode: a power loss may lose the last commits but never corrupts the db.
    db.pragma('synchronous = NORMAL');
    migrate(db, migrations, file);
    return db;
  } catch (e) {
    db.close();
    throw readOnlyStore(e, kilnDir, file) ?? e;
  }
}

/**
 * SQLite cannot open a WAL database on a read-only filesystem (it must create -shm) and says
 * only "unable to open database file": name the real cause when .kiln cannot be written.
 */
function readOnlyStore(e: unknown, kilnDir: string, file: string): KilnError | null {
  if ((e as { code?: string }).code !== 'SQLITE_CANTOPEN') return null;
  try {
    fs.accessSync(kilnDir, fs.constants.W_OK);
    return null;
  } catch (a) {
    return storageError(a, file);
  }
}

export function schemaVersion(db: Db): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

function migrate(db: Db, migrations: readonly Migration[], file: string): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  const known = sorted.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current > known) {
    throw new KilnError(
      'CORRUPT_STORE',
      `${file} has schema version ${current}, but this kiln only knows versions up to ${known}`,
      { hint: 'a newer kiln wrote this store; upgrade kiln to use it' },
    );
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of sorted) {
    // IMMEDIATE takes the write lock first, so two kiln processes opening a fresh store
    // don't both run the same migration: the second re-checks and skips it.
    db.transaction(() => {
      const done = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version);
      if (done) return;
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    }).immediate();
  }
}
