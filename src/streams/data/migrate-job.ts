// One migration as data, so it can run on a worker thread (off-thread.ts): where the store is,
// the changelog, how far, under which gate, and how long to wait for locks. runJob is the part
// that runs there; it reports progress as events and returns plain data.
import type { Changelog } from './changelog.js';
import { connectStore, type StoreLocation } from './bindings.js';
import type { StoreConnection } from './engine.js';
import { gateEntries, type BreakingPolicy } from './gate.js';
import type { LintFinding } from './lint.js';
import { assertConsistent, migrateStore, storeStatus, type MigrateEvent, type MigrateResult } from './migrate.js';
import { openPostgres, type PgTarget } from './postgres.js';
import { openSqlite } from './sqlite.js';

/** Where the migration connects: a store of an environment, or a replica's temporary. */
export type MigrationTarget =
  | { kind: 'store'; loc: StoreLocation }
  | { kind: 'sqlite'; file: string; label: string }
  /** Held in memory only (structured-cloned to the worker), never written anywhere. */
  | { kind: 'postgres'; target: PgTarget; database: string };

export interface MigrationJob {
  target: MigrationTarget;
  changelog: Changelog;
  /** Names the store in messages: "store orders of environment \"dev\"". */
  what: string;
  toPosition?: number;
  release?: string;
  breaking?: BreakingPolicy;
  /** How long to wait for another connection's lock (SQLite busy, PostgreSQL lock_timeout). */
  lockWaitMs?: number;
  /** How long to wait for another live migrator's lock row. */
  waitMs?: number;
  /** Check only (history consistent, gate passed); apply nothing. */
  dryRun?: boolean;
  /** SQLite: fold the WAL into the database file afterwards (a replica is renamed into place). */
  checkpoint?: boolean;
}

export interface MigrationOutcome extends MigrateResult {
  /** Entries applied or, with dryRun, to apply. */
  pending: Array<{ position: number; name: string }>;
  /** Breaking findings of those entries that the policy or their marker allowed. */
  allowedBreaking: LintFinding[];
  /** The store is already past toPosition (a rollback): nothing to do. */
  ahead: boolean;
}

/** Progress of a job: the migration's events, a lock wait, and (from off-thread.ts) a heartbeat. */
export type MigrationProgress =
  | MigrateEvent
  | { kind: 'busy' }
  | { kind: 'locked'; owner: string }
  | { kind: 'running'; n: number; m: number; position: number; name: string; elapsedMs: number };

export async function connectTarget(t: MigrationTarget, lockWaitMs: number | undefined, onBusy?: () => void): Promise<StoreConnection> {
  const wait = { ...(lockWaitMs !== undefined ? { lockWaitMs } : {}), ...(onBusy ? { onBusy } : {}) };
  if (t.kind === 'store') return connectStore(t.loc, wait);
  if (t.kind === 'sqlite') return openSqlite(t.file, { label: t.label, ...wait });
  return openPostgres(t.target, t.database);
}

export async function runJob(job: MigrationJob, emit: (p: MigrationProgress) => void): Promise<MigrationOutcome> {
  const conn = await connectTarget(job.target, job.lockWaitMs, () => emit({ kind: 'busy' }));
  try {
    const target = job.toPosition ?? job.changelog.entries.length;
    if (job.dryRun) {
      const status = await storeStatus(conn, job.changelog);
      assertConsistent(status, job.what);
      const pending = status.pending.filter((e) => e.position <= target);
      const allowedBreaking = gateEntries(pending, conn.engine, job.what, job.breaking);
      return {
        from: status.position,
        to: Math.max(status.position, target),
        applied: [],
        pending: pending.map((e) => ({ position: e.position, name: e.name })),
        allowedBreaking,
        ahead: status.position > target,
      };
    }
    const r = await migrateStore(conn, job.changelog, job.what, {
      ...(job.toPosition !== undefined ? { toPosition: job.toPosition } : {}),
      ...(job.release !== undefined ? { release: job.release } : {}),
      ...(job.breaking ? { breaking: job.breaking } : {}),
      ...(job.lockWaitMs !== undefined ? { lockWaitMs: job.lockWaitMs } : {}),
      ...(job.waitMs !== undefined ? { waitMs: job.waitMs } : {}),
      onLocked: (owner) => emit({ kind: 'locked', owner }),
      onEvent: emit,
    });
    if (job.checkpoint && conn.engine === 'sqlite') await conn.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    return { ...r, pending: r.applied.map((a) => ({ position: a.position, name: a.name })), allowedBreaking: [], ahead: r.from > target };
  } finally {
    await conn.close();
  }
}
