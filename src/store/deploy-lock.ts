// The deploy lock (migration 5 of state.db): one row per environment while a deploy, rollback or
// teardown runs there. A row, not memory, so two control planes on one .kiln (or one started
// while a crashed one's deploy is recorded) cannot both change an environment. The row names its
// owner (pid:start-time:random) and an expiry the holder renews while it works, so a lock left by
// a dead process never blocks: it is free once its owner is gone or its expiry has passed.
import crypto from 'node:crypto';
import { KilnError } from '../errors.js';
import { isProcessAlive, processStartTime } from '../runtime/process/proc.js';
import type { Database } from './state-db.js';

export const DEPLOY_LOCKS_SQL = `
CREATE TABLE deploy_locks (
  env         TEXT PRIMARY KEY,
  owner       TEXT NOT NULL,
  operation   TEXT NOT NULL,
  acquired_at TEXT NOT NULL,
  expires_at  INTEGER NOT NULL
);`;

/** How long a lock lives without renewal; the holder renews it every third of this. */
export const DEPLOY_LOCK_TTL_MS = 30_000;

export interface DeployLockRow {
  env: string;
  owner: string;
  operation: string;
  acquired_at: string;
  expires_at: number;
}

/** This process's owner id: pid, its start time (a reused pid is another owner) and a random part. */
export function lockOwnerId(): string {
  return `${process.pid}:${processStartTime(process.pid) ?? '?'}:${crypto.randomBytes(6).toString('hex')}`;
}

/** Whether the process an owner id names still runs (the same process, not a reused pid). */
export function ownerAlive(owner: string): boolean {
  const [pid, start] = owner.split(':');
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0 || !start || start === '?') return true; // unknown: trust the expiry
  return isProcessAlive(n, start);
}

export class DeployLocks {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
    private readonly alive: (owner: string) => boolean = ownerAlive,
  ) {}

  /** Takes the lock or throws DEPLOY_IN_PROGRESS naming the holder. Checked and written in one IMMEDIATE transaction. */
  acquire(env: string, owner: string, operation: string, ttlMs = DEPLOY_LOCK_TTL_MS): void {
    this.db
      .transaction(() => {
        const held = this.get(env);
        if (held && held.expires_at > this.now() && this.alive(held.owner)) {
          const who = held.owner.split(':')[0] === String(process.pid) ? 'this process' : `pid ${held.owner.split(':')[0]}`;
          throw new KilnError('DEPLOY_IN_PROGRESS', `a ${held.operation} of ${env} is in progress: locked by ${who} (${held.operation}) since ${held.acquired_at}`, {
            hint: `wait for it to finish: kiln status --env ${env}`,
          });
        }
        this.db
          .prepare('INSERT OR REPLACE INTO deploy_locks (env, owner, operation, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)')
          .run(env, owner, operation, new Date(this.now()).toISOString(), this.now() + ttlMs);
      })
      .immediate();
  }

  /** Pushes the expiry forward; false if the lock is no longer this owner's (it expired and was taken). */
  renew(env: string, owner: string, ttlMs = DEPLOY_LOCK_TTL_MS): boolean {
    return this.db.prepare('UPDATE deploy_locks SET expires_at = ? WHERE env = ? AND owner = ?').run(this.now() + ttlMs, env, owner).changes === 1;
  }

  release(env: string, owner: string): void {
    this.db.prepare('DELETE FROM deploy_locks WHERE env = ? AND owner = ?').run(env, owner);
  }

  get(env: string): DeployLockRow | undefined {
    return this.db.prepare('SELECT * FROM deploy_locks WHERE env = ?').get(env) as DeployLockRow | undefined;
  }

  /** Every lock row whose key starts with `prefix` (e.g. "rebuild:"). */
  list(prefix = ''): DeployLockRow[] {
    return this.db.prepare("SELECT * FROM deploy_locks WHERE substr(env, 1, length(?)) = ?").all(prefix, prefix) as DeployLockRow[];
  }

  /** Whether the row is free to take: its owner is gone or its time ran out. */
  isStale(row: DeployLockRow): boolean {
    return row.expires_at <= this.now() || !this.alive(row.owner);
  }

  /**
   * Removes locks whose owner is gone or whose time ran out (at control-plane start); returns them.
   * Rows `keep` selects stay: they are the intent of an operation the caller will finish first.
   */
  clearStale(keep: (r: DeployLockRow) => boolean = () => false): DeployLockRow[] {
    const rows = this.db.prepare('SELECT * FROM deploy_locks').all() as DeployLockRow[];
    const stale = rows.filter((r) => (r.expires_at <= this.now() || !this.alive(r.owner)) && !keep(r));
    for (const r of stale) this.db.prepare('DELETE FROM deploy_locks WHERE env = ? AND owner = ?').run(r.env, r.owner);
    return stale;
  }

  /** Runs `fn` holding the lock, renewing it every third of its lifetime, releasing it after. */
  async hold<T>(env: string, owner: string, operation: string, fn: () => Promise<T>, ttlMs = DEPLOY_LOCK_TTL_MS): Promise<T> {
    this.acquire(env, owner, operation, ttlMs);
    const timer = setInterval(() => this.renew(env, owner, ttlMs), Math.max(10, Math.floor(ttlMs / 3)));
    timer.unref();
    try {
      return await fn();
    } finally {
      clearInterval(timer);
      this.release(env, owner);
    }
  }
}
