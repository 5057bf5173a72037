// The SQLite engine: a file opened with better-sqlite3. Writes go through BEGIN IMMEDIATE so two
// migrators never interleave. Waiting for another connection's write lock is asynchronous: no
// busy_timeout (SQLite's busy handler sleeps the calling thread, which froze the control plane's
// DNS and API), but a retry with backoff that yields to the event loop, ending in DATA_LOCKED
// after a bound.
import BetterSqlite3 from 'better-sqlite3';
import { KilnError } from '../../errors.js';
import type { Row, StoreConnection } from './engine.js';
import { DEFAULT_WAIT_MS } from './lock.js';

export interface SqliteOptions {
  /** Names the store in errors: "orders (dev, sqlite /…/orders.db)". */
  label: string;
  /** How long to wait for another connection's lock before DATA_LOCKED (default 30 s). */
  lockWaitMs?: number;
  /** Called once when a statement has to wait for another connection's lock. */
  onBusy?: () => void;
}

const FIRST_RETRY_MS = 5;
const MAX_RETRY_MS = 250;

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function lockedError(o: SqliteOptions, waitedMs: number): KilnError {
  return new KilnError('DATA_LOCKED', `${o.label} is locked: another connection held its write lock for more than ${Math.round(waitedMs / 100) / 10} s`, {
    hint: 'another migration, a snapshot or a server\'s long write transaction is using the store; wait for it to finish and run the command again (data.<store>.lock-wait in kiln.yaml, or --lock-wait, sets how long to wait)',
  });
}

/** Runs fn; while SQLite answers BUSY, retries it after a growing pause, up to the bound. */
async function whenFree<T>(fn: () => T, o: SqliteOptions): Promise<T> {
  const bound = o.lockWaitMs ?? DEFAULT_WAIT_MS;
  const started = Date.now();
  let pause = FIRST_RETRY_MS;
  let told = false;
  for (;;) {
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e)) throw e;
      const waited = Date.now() - started;
      if (waited >= bound) throw lockedError(o, waited);
      if (!told) o.onBusy?.();
      told = true;
      await new Promise((r) => setTimeout(r, Math.min(pause, bound - waited)));
      pause = Math.min(pause * 2, MAX_RETRY_MS);
    }
  }
}

export async function openSqlite(file: string, o: SqliteOptions = { label: file }): Promise<StoreConnection> {
  // timeout 0: better-sqlite3's default is a 5 s busy handler, a blocking sleep.
  const db = new BetterSqlite3(file, { timeout: 0 });
  try {
    // WAL: servers keep reading while a migration or a snapshot runs.
    await whenFree(() => db.pragma('journal_mode = WAL'), o);
    db.pragma('foreign_keys = ON');
  } catch (e) {
    db.close();
    throw e;
  }
  return sqliteConnection(db, o);
}

export function sqliteConnection(db: BetterSqlite3.Database, o: SqliteOptions): StoreConnection {
  return {
    engine: 'sqlite',
    async query<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
      // One statement: a BUSY one did nothing, so running it again is safe.
      return whenFree(() => {
        const stmt = db.prepare(sql);
        if (stmt.reader) return stmt.all(...params) as T[];
        stmt.run(...params);
        return [];
      }, o);
    },
    async exec(sql: string): Promise<void> {
      // Several statements: inside a transaction the earlier ones may have run, so a BUSY is
      // not retried there (BEGIN IMMEDIATE already holds the write lock, so it is rare).
      // Outside one, exec runs Kiln's own idempotent setup (CREATE TABLE IF NOT EXISTS, PRAGMA).
      if (db.inTransaction) {
        try {
          db.exec(sql);
        } catch (e) {
          throw isBusy(e) ? lockedError(o, 0) : e;
        }
        return;
      }
      await whenFree(() => db.exec(sql), o);
    },
    async transaction<T>(fn: () => Promise<T>): Promise<T> {
      await whenFree(() => db.exec('BEGIN IMMEDIATE'), o);
      try {
        const r = await fn();
        await whenFree(() => db.exec('COMMIT'), o);
        return r;
      } catch (e) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw e;
      }
    },
    async close(): Promise<void> {
      db.close();
    },
  };
}
