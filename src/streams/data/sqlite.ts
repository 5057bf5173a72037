// The SQLite engine: a file opened with better-sqlite3. Writes go through BEGIN IMMEDIATE so two
// migrators never interleave; the busy timeout makes a second writer wait instead of failing.
import BetterSqlite3 from 'better-sqlite3';
import type { Row, StoreConnection } from './engine.js';

export function openSqlite(file: string): StoreConnection {
  const db = new BetterSqlite3(file);
  db.pragma('busy_timeout = 10000');
  // WAL: servers keep reading while a migration or a snapshot runs.
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  return sqliteConnection(db);
}

export function sqliteConnection(db: BetterSqlite3.Database): StoreConnection {
  return {
    engine: 'sqlite',
    async query<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
      const stmt = db.prepare(sql);
      if (stmt.reader) return stmt.all(...params) as T[];
      stmt.run(...params);
      return [];
    },
    async exec(sql: string): Promise<void> {
      db.exec(sql);
    },
    async transaction<T>(fn: () => Promise<T>): Promise<T> {
      db.exec('BEGIN IMMEDIATE');
      try {
        const r = await fn();
        db.exec('COMMIT');
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
