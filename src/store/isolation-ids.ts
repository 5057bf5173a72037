// Migration 7: the uids/gids this store's servers and builds run as (src/isolation/). A number is
// recorded once per subject ("group", "build", "env:<name>") so it stays the same across restarts
// and files chowned to it stay readable; the machine-wide claim (isolation/registry.ts) keeps two
// projects from ever getting the same number.
import type Database from 'better-sqlite3';

export const ISOLATION_IDS_SQL = `
CREATE TABLE isolation_ids (
  subject    TEXT PRIMARY KEY,
  id         INTEGER NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);`;

export class IsolationIdTable {
  constructor(private readonly db: Database.Database) {}

  get(subject: string): number | undefined {
    return (this.db.prepare('SELECT id FROM isolation_ids WHERE subject = ?').get(subject) as { id: number } | undefined)?.id;
  }

  /** Records `id` for `subject`; false if another subject of this store already has it. */
  put(subject: string, id: number): boolean {
    const r = this.db.prepare('INSERT OR IGNORE INTO isolation_ids (subject, id, created_at) VALUES (?, ?, ?)').run(subject, id, new Date().toISOString());
    return r.changes === 1;
  }

  remove(subject: string): void {
    this.db.prepare('DELETE FROM isolation_ids WHERE subject = ?').run(subject);
  }

  all(): Array<{ subject: string; id: number }> {
    return this.db.prepare('SELECT subject, id FROM isolation_ids ORDER BY subject').all() as Array<{ subject: string; id: number }>;
  }
}
