// The migration lock: one row in kiln_lock with an owner ("host:pid:random") and an expiry.
// A lock never blocks forever: it is taken over when it has expired, or at once when its owner
// ran on this host and that process is gone (kill -9). A holder renews it between entries.
import crypto from 'node:crypto';
import os from 'node:os';
import { KilnError } from '../../errors.js';
import type { StoreConnection } from './engine.js';
import { ownerAlive } from '../../store/scratch.js';

export interface LockOptions {
  /** How long the lock holds without renewal. */
  ttlMs?: number;
  /** How long to wait for a live holder before giving up. */
  waitMs?: number;
  /** Called once when another live migrator holds the lock. */
  onWait?: (holder: LockRow) => void;
}

export interface LockRow {
  owner: string;
  acquired_at: string;
  expires_at: string;
}

export interface HeldLock {
  owner: string;
  renew(): Promise<void>;
  release(): Promise<void>;
}

const DEFAULT_TTL_MS = 10 * 60_000;
export const DEFAULT_WAIT_MS = 30_000;

export function newOwner(): string {
  return `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
}

/** Whether a lock row can be taken over: expired, or held by a dead process of this host. */
export function isStale(row: LockRow, now = Date.now()): boolean {
  if (Date.parse(row.expires_at) <= now) return true;
  const [host, pidText] = row.owner.split(':');
  const pid = Number(pidText);
  if (host !== os.hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  return !processAlive(pid);
}

/** Whether a pid still runs (a zombie is dead too): the store's one answer, store/scratch.ts. */
export const processAlive = ownerAlive;

export async function readLock(conn: StoreConnection): Promise<LockRow | undefined> {
  return (await conn.query<LockRow>('SELECT owner, acquired_at, expires_at FROM kiln_lock WHERE id = 1'))[0];
}

export async function acquireLock(conn: StoreConnection, what: string, opts: LockOptions = {}): Promise<HeldLock> {
  const ttl = opts.ttlMs ?? DEFAULT_TTL_MS;
  const deadline = Date.now() + (opts.waitMs ?? DEFAULT_WAIT_MS);
  const owner = newOwner();
  let warned = false;
  for (;;) {
    const now = Date.now();
    const got = await conn.query(
      'INSERT INTO kiln_lock (id, owner, acquired_at, expires_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING owner',
      [owner, new Date(now).toISOString(), new Date(now + ttl).toISOString()],
    );
    if (got.length) break;
    const held = await readLock(conn);
    if (!held) continue; // released between the two statements
    if (isStale(held)) {
      // Compare-and-delete: only the row we judged stale goes, never a newer holder's.
      await conn.query('DELETE FROM kiln_lock WHERE id = 1 AND owner = ? AND expires_at = ?', [held.owner, held.expires_at]);
      continue;
    }
    if (Date.now() > deadline) {
      throw new KilnError('DATA_LOCKED', `${what} is locked by ${held.owner} (since ${held.acquired_at}, expires ${held.expires_at})`, {
        hint: 'another migrator is running; wait for it. A lock whose process died is taken over automatically',
      });
    }
    if (!warned) opts.onWait?.(held);
    warned = true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    owner,
    async renew() {
      const rows = await conn.query('UPDATE kiln_lock SET expires_at = ? WHERE id = 1 AND owner = ? RETURNING owner', [new Date(Date.now() + ttl).toISOString(), owner]);
      if (!rows.length) {
        throw new KilnError('DATA_LOCKED', `${what}: the migration lock was taken over by another process (it expired)`, {
          hint: 'nothing more was applied; run the command again',
        });
      }
    },
    async release() {
      await conn.query('DELETE FROM kiln_lock WHERE id = 1 AND owner = ?', [owner]).catch(() => undefined);
    },
  };
}
