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
import { acquireLock, type LockOptions } from './lock.js';

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

export interface MigrateOptions extends LockOptions {
  /** Stop after this position (default: the changelog's head). */
  toPosition?: number;
  /** Recorded in the history ("r17"). */
  release?: string;
  onEntry?: (entry: ChangelogEntry, durationMs: number) => void;
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
  const lock = await acquireLock(conn, what, opts);
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
    const applied: MigrateResult['applied'] = [];
    for (const entry of status.pending.filter((e) => e.position <= target)) {
      const started = performance.now();
      await conn.transaction(async () => {
        await runEntry(conn, entry);
        const durationMs = Math.round(performance.now() - started);
        await recordApplied(conn, { position: entry.position, name: entry.name, checksum: entry.checksum, durationMs, release: opts.release ?? null });
      });
      const durationMs = Math.round(performance.now() - started);
      applied.push({ position: entry.position, name: entry.name, durationMs });
      opts.onEntry?.(entry, durationMs);
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
      // Only query and exec: the entry's transaction belongs to Kiln.
      const db: MigrationDb = { engine: conn.engine, query: (sql, params) => conn.query(sql, params), exec: (sql) => conn.exec(sql) };
      await (mod.migrate as (db: MigrationDb) => Promise<void>)(db);
    }
  } catch (e) {
    if (e instanceof KilnError) throw e;
    const err = e as Error & { position?: string };
    const loc = err.position && entry.kind === 'sql' ? lineCol(bytes.toString('utf8'), Number(err.position) - 1) : {};
    throw new KilnError('DATA_FAILED', `${entry.name} failed and was rolled back: ${err.message}`, {
      location: { file: entry.file, ...loc },
      hint: 'fix the entry (it was not applied, so it may still be edited) and run migrate again',
    });
  }
}

/** 1-based line and column of a character offset. */
export function lineCol(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}
