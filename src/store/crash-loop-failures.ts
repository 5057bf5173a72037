// Migration 6: recent failure times per server group (server/crash-loop.ts), so a restarted
// control plane continues a crash-loop count instead of starting afresh. Only the last window
// of each maintained group is kept: each insert drops the group's older rows, and rows of
// groups no longer maintained are dropped when the control plane starts.
import type Database from 'better-sqlite3';

export const CRASH_LOOP_FAILURES_SQL = `
CREATE TABLE crash_loop_failures (
  group_name TEXT NOT NULL,
  at         INTEGER NOT NULL
);
CREATE INDEX crash_loop_failures_group ON crash_loop_failures(group_name, at);`;

/** Where failure times outlive the process (the tracker's view; tests may pass their own). */
export interface FailureLog {
  /** The recorded failure times of `group` (ms since the epoch), oldest first. */
  times(group: string): number[];
  /** Adds one failure and drops the group's failures before `dropBefore`, in one transaction. */
  add(group: string, at: number, dropBefore: number): void;
  clear(group: string): void;
}

export class CrashLoopFailureLog implements FailureLog {
  constructor(private readonly db: Database.Database) {}

  times(group: string): number[] {
    return (this.db.prepare('SELECT at FROM crash_loop_failures WHERE group_name = ? ORDER BY at').all(group) as Array<{ at: number }>).map((r) => r.at);
  }

  add(group: string, at: number, dropBefore: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM crash_loop_failures WHERE group_name = ? AND at < ?').run(group, dropBefore);
      this.db.prepare('INSERT INTO crash_loop_failures(group_name, at) VALUES (?, ?)').run(group, at);
    })();
  }

  clear(group: string): void {
    this.db.prepare('DELETE FROM crash_loop_failures WHERE group_name = ?').run(group);
  }

  /** Drops the rows of groups not in `states` (destroyed, failed, gone): they never restart. */
  keepOnly(states: readonly string[]): void {
    const marks = states.map(() => '?').join(', ');
    this.db
      .prepare(`DELETE FROM crash_loop_failures WHERE group_name NOT IN (SELECT name FROM server_groups WHERE state IN (${marks}))`)
      .run(...states);
  }
}
