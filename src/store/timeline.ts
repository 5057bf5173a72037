// An environment's history as the dashboard reads it: its deployments newest first, and events
// after a given id (the resume point of the live stream). Read-only queries on state.db, each
// prepared once (the live stream runs them several times a second per open page).
import type Database from 'better-sqlite3';
import type { EventRow } from './runtime-state.js';

export interface DeploymentRecord {
  id: number;
  env: string;
  release: string;
  kind: 'deploy' | 'rollback';
  state: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  /** Who asked for it, when recorded. */
  by: string | null;
}

export class Timeline {
  private readonly byEnv: Database.Statement;
  private readonly after: Database.Statement;
  private readonly afterAll: Database.Statement;
  private readonly newest: Database.Statement;

  constructor(db: Database.Database) {
    this.byEnv = db.prepare(
      'SELECT id, env, release, kind, state, started_at AS startedAt, finished_at AS finishedAt, error, started_by AS by FROM deployments WHERE env = ? ORDER BY id DESC LIMIT ?',
    );
    // An environment's events, and those about no environment (the proxy, storage): both concern its page.
    this.after = db.prepare('SELECT * FROM events WHERE id > ? AND (env = ? OR env IS NULL) ORDER BY id LIMIT ?');
    this.afterAll = db.prepare('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?');
    this.newest = db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM events');
  }

  deployments(env: string, limit = 50): DeploymentRecord[] {
    return this.byEnv.all(env, limit) as DeploymentRecord[];
  }

  eventsAfter(afterId: number, env: string | undefined, limit = 200): EventRow[] {
    return (env === undefined ? this.afterAll.all(afterId, limit) : this.after.all(afterId, env, limit)) as EventRow[];
  }

  newestEventId(): number {
    return (this.newest.get() as { id: number }).id;
  }
}
