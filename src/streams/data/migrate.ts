// Comparing a store's history with its changelog, and applying pending entries. Each entry runs
// in its own transaction together with its history row: a failing entry leaves nothing, and the
// next run retries it. A history that disagrees with the changelog (an applied entry edited,
// missing or out of order) stops everything before anything is applied.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { KilnError } from '../../errors.js';
import type { Changelog, ChangelogEntry } from './changelog.js';
import { checksumOf, formatPosition } from './changelog.js';
import type { MigrationDb, StoreConnection } from './engine.js';
import { ensureKilnTables, readHistory, recordApplied, type AppliedEntry } from './history.js';
import { gateEntries, type BreakingPolicy } from './gate.js';
import { acquireLock, DEFAULT_WAIT_MS, type LockOptions, type LockRow } from './lock.js';
import { lineCol } from './sql-lexer.js';
import { transactionStatements } from './transaction-control.js';

export type ProblemKind = 'edited' | 'missing' | 'out-of-order';

export interface ChangelogProblem {
  kind: ProblemKind;
  position: number;
  /** The changelog file concerned (absent when the file is gone). */
  file?: string;
  message: string;
  appliedChecksum?: string;
  fileChecksum?: string;
}

export interface ChangelogStatus {
  /** Position of the last changelog entry (0: empty changelog). */
  head: number;
  /** Position the store is at: its highest applied entry. */
  position: number;
  applied: AppliedEntry[];
  pending: ChangelogEntry[];
  problems: ChangelogProblem[];
}

export function compareHistory(changelog: Changelog, applied: AppliedEntry[]): ChangelogStatus {
  const problems: ChangelogProblem[] = [];
  const appliedAt = new Set(applied.map((a) => a.position));
  for (const a of applied) {
    const e = changelog.entries[a.position - 1];
    if (!e || e.name !== a.name) {
      problems.push({
        kind: 'missing',
        position: a.position,
        ...(e ? { file: e.file } : {}),
        appliedChecksum: a.checksum,
        ...(e ? { fileChecksum: e.checksum } : {}),
        message: e
          ? `applied entry ${a.name} (checksum ${a.checksum}) is missing: position ${formatPosition(a.position)} now holds ${e.file} (checksum ${e.checksum})`
          : `applied entry ${a.name} (checksum ${a.checksum}) is missing from ${changelog.dir}`,
      });
    } else if (e.checksum !== a.checksum) {
      problems.push({
        kind: 'edited',
        position: a.position,
        file: e.file,
        appliedChecksum: a.checksum,
        fileChecksum: e.checksum,
        message: `${e.file} was edited after it was applied: applied checksum ${a.checksum}, file checksum ${e.checksum}`,
      });
    }
  }
  const position = applied.reduce((m, a) => Math.max(m, a.position), 0);
  for (const e of changelog.entries) {
    if (e.position < position && !appliedAt.has(e.position)) {
      problems.push({
        kind: 'out-of-order',
        position: e.position,
        file: e.file,
        fileChecksum: e.checksum,
        message: `${e.file} (checksum ${e.checksum}) was never applied, but later position ${formatPosition(position)} was: entries must be applied in order`,
      });
    }
  }
  problems.sort((a, b) => a.position - b.position);
  return {
    head: changelog.entries.length,
    position,
    applied,
    pending: changelog.entries.filter((e) => e.position > position),
    problems,
  };
}

export async function storeStatus(conn: StoreConnection, changelog: Changelog): Promise<ChangelogStatus> {
  await ensureKilnTables(conn);
  return compareHistory(changelog, await readHistory(conn));
}

/** Throws the problems as one DATA_CHANGELOG error naming the first file; changes nothing. */
export function assertConsistent(status: ChangelogStatus, what: string): void {
  const first = status.problems[0];
  if (!first) return;
  throw new KilnError('DATA_CHANGELOG', `${what}: ${first.message}`, {
    ...(first.file ? { location: { file: first.file } } : {}),
    hint:
      first.kind === 'edited'
        ? 'an applied entry never changes: restore the file (git checkout) and put the change in a new entry'
        : first.kind === 'missing'
          ? 'restore the applied entry; add changes as new entries at the end'
          : 'the store was changed out of order; restore its history or rebuild it from a snapshot',
    details: status.problems.slice(1).map((p) => p.message),
  });
}

/** What a migration reports while it runs: entry n of m, and waits for the lock. */
export type MigrateEvent =
  | { kind: 'waiting'; holder: LockRow }
  | { kind: 'start'; n: number; m: number; position: number; name: string }
  | { kind: 'applied'; n: number; m: number; position: number; name: string; durationMs: number };

export interface MigrateOptions extends LockOptions {
  /** Stop after this position (default: the changelog's head). */
  toPosition?: number;
  /** Recorded in the history ("r17"). */
  release?: string;
  /**
   * Refuse entries that would break the previous release's servers unless allowed (gate.ts).
   * Absent: only transaction statements are refused (a replica is a store no server uses yet).
   */
  breaking?: BreakingPolicy;
  /** PostgreSQL: how long a statement waits for a lock (lock_timeout) before DATA_LOCKED (default 30 s). */
  lockWaitMs?: number;
  onEvent?: (e: MigrateEvent) => void;
  /** Called with the lock's owner once it is held (a worker's parent releases it if the worker dies). */
  onLocked?: (owner: string) => void;
}

export interface MigrateResult {
  from: number;
  to: number;
  applied: Array<{ position: number; name: string; durationMs: number }>;
}

/** Applies pending entries up to `toPosition`, each in its own transaction, under the lock. */
export async function migrateStore(conn: StoreConnection, changelog: Changelog, what: string, opts: MigrateOptions = {}): Promise<MigrateResult> {
  await ensureKilnTables(conn);
  const target = opts.toPosition ?? changelog.entries.length;
  if (!Number.isInteger(target) || target < 0 || target > changelog.entries.length) {
    throw new KilnError('USAGE', `position ${opts.toPosition} is not in the changelog of ${changelog.store} (positions 0 to ${changelog.entries.length})`, { location: { flag: '--to-position' } });
  }
  const waitMs = opts.lockWaitMs ?? DEFAULT_WAIT_MS;
  // PostgreSQL waits for locks on the server, asynchronously; bounded, it ends in DATA_LOCKED
  // (55P03) instead of waiting for ever behind a server's long transaction.
  if (conn.engine === 'postgres') await conn.exec(`SET lock_timeout = ${Math.max(1, Math.round(waitMs))}`);
  const lock = await pgLockTimeout(what, waitMs, () =>
    acquireLock(conn, what, { ...opts, onWait: (holder) => (opts.onWait?.(holder), opts.onEvent?.({ kind: 'waiting', holder })) }),
  );
  opts.onLocked?.(lock.owner);
  try {
    // Read the history under the lock: another migrator may just have finished.
    const status = compareHistory(changelog, await readHistory(conn));
    assertConsistent(status, what);
    if (target < status.position) {
      throw new KilnError('USAGE', `${what} is at position ${formatPosition(status.position)}, beyond ${formatPosition(target)}; a changelog only moves forward`, {
        location: { flag: '--to-position' },
        hint: 'make a replica at the older position instead (kiln data replica … --to-position N)',
      });
    }
    const todo = status.pending.filter((e) => e.position <= target);
    // Every entry is checked before the first is applied: a refusal changes nothing.
    gateEntries(todo, conn.engine, what, opts.breaking);
    const applied: MigrateResult['applied'] = [];
    for (const [i, entry] of todo.entries()) {
      const n = i + 1;
      opts.onEvent?.({ kind: 'start', n, m: todo.length, position: entry.position, name: entry.name });
      const started = performance.now();
      await pgLockTimeout(what, waitMs, async () => {
        // The server reads the whole entry before it runs any of it, with this setting; the
        // lexer that checked it reads strings the same way (an earlier entry may have changed it).
        if (conn.engine === 'postgres' && entry.kind === 'sql') await conn.exec('SET standard_conforming_strings = on');
        await conn.transaction(async () => {
          await runEntry(conn, entry);
          const durationMs = Math.round(performance.now() - started);
          await recordApplied(conn, { position: entry.position, name: entry.name, checksum: entry.checksum, durationMs, release: opts.release ?? null });
        });
      });
      const durationMs = Math.round(performance.now() - started);
      applied.push({ position: entry.position, name: entry.name, durationMs });
      opts.onEvent?.({ kind: 'applied', n, m: todo.length, position: entry.position, name: entry.name, durationMs });
      await lock.renew();
    }
    return { from: status.position, to: Math.max(status.position, applied.at(-1)?.position ?? 0), applied };
  } finally {
    await lock.release();
  }
}

async function runEntry(conn: StoreConnection, entry: ChangelogEntry): Promise<void> {
  const bytes = fs.readFileSync(entry.file);
  // The file must still be what was checked: an edit between reading the changelog and now
  // would otherwise be recorded under the old checksum.
  if (checksumOf(bytes) !== entry.checksum) {
    throw new KilnError('DATA_CHANGELOG', `${entry.file} changed while migrating`, { location: { file: entry.file }, hint: 'run the command again' });
  }
  try {
    if (entry.kind === 'sql') {
      await conn.exec(bytes.toString('utf8'));
    } else {
      // The checksum in the URL makes an edited module load afresh instead of from the cache.
      const mod = (await import(`${pathToFileURL(entry.file).href}?checksum=${entry.checksum.slice(7, 23)}`)) as { migrate?: unknown };
      if (typeof mod.migrate !== 'function') {
        throw new KilnError('DATA_CHANGELOG', `${entry.name} does not export a function migrate(db)`, {
          location: { file: entry.file },
          hint: 'export async function migrate(db) { await db.exec(…); await db.query(…, [params]) }',
        });
      }
      // Only query and exec, and no transaction statements: the entry's transaction is Kiln's.
      const own = (sql: string): string => {
        const t = transactionStatements(sql, conn.engine)[0];
        if (t) {
          throw new KilnError('DATA_CHANGELOG', `${entry.name} ran ${t.keyword}, but Kiln runs each entry in its own transaction; the entry was rolled back`, {
            location: { file: entry.file },
            hint: 'remove the transaction statements from the data migration; put work that needs a transaction of its own in an entry of its own',
          });
        }
        return sql;
      };
      const db: MigrationDb = { engine: conn.engine, query: (sql, params) => conn.query(own(sql), params), exec: (sql) => conn.exec(own(sql)) };
      await (mod.migrate as (db: MigrationDb) => Promise<void>)(db);
    }
  } catch (e) {
    if (e instanceof KilnError || isLockTimeout(e)) throw e;
    const err = e as Error & { position?: string };
    const loc = err.position && entry.kind === 'sql' ? lineCol(bytes.toString('utf8'), Number(err.position) - 1) : {};
    throw new KilnError('DATA_FAILED', `${entry.name} failed and was rolled back: ${err.message}`, {
      location: { file: entry.file, ...loc },
      hint: 'fix the entry (it was not applied, so it may still be edited) and run migrate again',
    });
  }
}

export { lineCol };

/** PostgreSQL's lock_not_available: lock_timeout ran out. */
function isLockTimeout(e: unknown): boolean {
  return (e as { code?: unknown }).code === '55P03';
}

/** Runs fn; a PostgreSQL lock wait that ran out becomes DATA_LOCKED naming the store. */
async function pgLockTimeout<T>(what: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isLockTimeout(e)) throw e;
    throw new KilnError('DATA_LOCKED', `${what} is locked: waited more than ${Math.round(waitMs / 100) / 10} s for a lock (PostgreSQL: ${(e as Error).message}); nothing more was applied`, {
      hint: 'a server or another session holds a lock the migration needs (e.g. a long transaction on the table); wait for it to finish and run again (data.<store>.lock-wait in kiln.yaml, or --lock-wait, sets how long to wait)',
    });
  }
}
