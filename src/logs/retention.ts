// Retention: the oldest lines go first, by age and by the store's size. Whole chunks are
// deleted by id range, a few per transaction (ts never decreases with id), so the tailer waits
// little for the write lock. Freed pages are handed back to the file system (auto_vacuum = INCREMENTAL).
// Between two transactions the event loop runs (a slice of work, then a yield), so shrinking a
// big store at start or on the timer never holds up DNS answers, API calls or the tailer.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { LogStore } from './store.js';

export interface RetentionPolicy {
  /** Delete lines older than this (ms). */
  maxAgeMs?: number;
  /** Keep the store's used pages under this many bytes. */
  maxBytes?: number;
}

export interface PruneResult {
  deleted: number;
  /** Bytes the store uses afterwards (pages in use × page size). */
  bytes: number;
}

/** Chunks (of up to 512 lines) deleted per transaction. */
const CHUNK = 200;
/** Free pages handed back per step. */
const VACUUM_PAGES = 4096;

/** `stopped`: checked between slices; true ends the pass early (a control plane that is stopping). */
export async function pruneLogs(store: LogStore, policy: RetentionPolicy, now: number = Date.now(), stopped: () => boolean = () => false): Promise<PruneResult> {
  let deleted = 0;
  if (policy.maxAgeMs !== undefined) {
    const r = store.db.prepare('SELECT MAX(first_id) AS id FROM chunks WHERE ts < ?').get(now - policy.maxAgeMs) as { id: number | null };
    if (r.id !== null) deleted += await deleteThrough(store, r.id, stopped);
  }
  if (policy.maxBytes !== undefined) {
    // Estimate how many of the oldest lines hold the excess, delete them, measure again.
    for (let round = 0; round < 8; round++) {
      const used = usedBytes(store);
      if (used <= policy.maxBytes) break;
      const n = store.db.prepare('SELECT COUNT(*) FROM chunks').pluck().get() as number;
      if (n === 0) break;
      const share = 1 - policy.maxBytes / used;
      const count = Math.min(n, Math.ceil(n * share * 1.02) + 1);
      const last = store.db.prepare('SELECT first_id FROM chunks ORDER BY first_id LIMIT 1 OFFSET ?').pluck().get(count - 1) as number | undefined;
      if (last === undefined || stopped()) break;
      deleted += await deleteThrough(store, last, stopped);
    }
  }
  if (deleted > 0) {
    // Freed pages go back to the file system a slice at a time too.
    for (let i = 0; i < 100_000 && !stopped() && (store.db.pragma('freelist_count', { simple: true }) as number) > 0; i++) {
      store.db.pragma(`incremental_vacuum(${VACUUM_PAGES})`);
      await yieldToLoop();
    }
    store.db.pragma('wal_checkpoint(TRUNCATE)');
  }
  return { deleted, bytes: usedBytes(store) };
}

/** Pages in use × page size: the store's size without free pages (and without the WAL). */
export function usedBytes(store: LogStore): number {
  const page = store.db.pragma('page_size', { simple: true }) as number;
  const count = store.db.pragma('page_count', { simple: true }) as number;
  const free = store.db.pragma('freelist_count', { simple: true }) as number;
  return (count - free) * page;
}

/** Deletes every chunk with first_id <= lastFirstId, a few at a time. Returns the lines deleted. */
async function deleteThrough(store: LogStore, lastFirstId: number, stopped: () => boolean): Promise<number> {
  const pick = store.db.prepare('SELECT first_id, n FROM chunks WHERE first_id <= ? ORDER BY first_id LIMIT ?');
  const del = store.db.prepare('DELETE FROM chunks WHERE first_id >= ? AND first_id <= ?');
  let total = 0;
  for (;;) {
    const rows = pick.all(lastFirstId, CHUNK) as Array<{ first_id: number; n: number }>;
    if (rows.length === 0) return total;
    store.db.transaction(() => del.run(rows[0]!.first_id, rows.at(-1)!.first_id))();
    for (const r of rows) total += r.n;
    if (rows.length < CHUNK) return total;
    await yieldToLoop();
    if (stopped()) return total;
  }
}