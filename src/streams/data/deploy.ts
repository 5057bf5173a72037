// What deploy needs from the data layer (ARCHITECTURE.md, "Deploy", step 1): the changelog
// heads a release freezes, and bringing an environment's stores to those heads before the
// switch, refusing entries that would break the servers still running the previous release.
import { KilnError } from '../../errors.js';
import type { ProjectSpec } from '../../spec/types.js';
import { connectStore, defaultSecretPath, locateStore, type SecretPathResolver } from './bindings.js';
import { changelogOf, formatPosition, type Changelog } from './changelog.js';
import { lintChangelog, type LintFinding } from './lint.js';
import { assertConsistent, migrateStore, storeStatus } from './migrate.js';

/** A store's changelog head as frozen in a release. */
export interface DataHead {
  position: number;
  /** Checksum of the entry at `position` ("" for an empty changelog). */
  checksum: string;
}

/** Changelog heads of every store of the project (or only `store`), to freeze into a release. */
export function changelogHead(spec: ProjectSpec, store?: string): Record<string, DataHead> {
  const names = store === undefined ? Object.keys(spec.data).sort() : [store];
  return Object.fromEntries(
    names.map((name) => {
      const c = changelogOf(spec, name);
      const last = c.entries.at(-1);
      return [name, { position: last?.position ?? 0, checksum: last?.checksum ?? '' }];
    }),
  );
}

export interface PrepareDataOptions {
  spec: ProjectSpec;
  kilnDir: string;
  env: string;
  /** The release's frozen heads (ReleaseManifest.data once the lead adds it). */
  heads: Record<string, DataHead>;
  /** Release name, recorded in each applied entry's history row. */
  release: string;
  /** The release is declared breaking: breaking entries are applied anyway. */
  allowBreaking?: boolean;
  /** Only check and report; apply nothing. */
  dryRun?: boolean;
  secrets?: SecretPathResolver;
  onProgress?: (line: string) => void;
}

export interface StoreDeployStep {
  store: string;
  engine: 'sqlite' | 'postgres';
  from: number;
  to: number;
  /** Entries applied (or, with dryRun, to apply). */
  entries: Array<{ position: number; name: string }>;
  /** Breaking findings of those entries that were allowed (marked kiln:breaking or allowBreaking). */
  allowedBreaking: LintFinding[];
  /** The store is already past the release's head (e.g. a rollback): nothing to do. */
  ahead: boolean;
}

/**
 * Checks every store first (changelog matches the release's head, history consistent, no
 * unallowed breaking entry) and only then applies, so a refusal changes no store.
 */
export async function prepareDataForDeploy(opts: PrepareDataOptions): Promise<StoreDeployStep[]> {
  const secrets = opts.secrets ?? defaultSecretPath(opts.kilnDir);
  const plans: Array<{ step: StoreDeployStep; changelog: Changelog; loc: ReturnType<typeof locateStore> }> = [];
  for (const [store, head] of Object.entries(opts.heads).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const changelog = changelogOf(opts.spec, store);
    const entry = changelog.entries[head.position - 1];
    if (head.position > changelog.entries.length || (entry?.checksum ?? '') !== head.checksum) {
      throw new KilnError('DATA_CHANGELOG', `release ${opts.release} needs store ${store} at position ${formatPosition(head.position)} (checksum ${head.checksum}), which the changelog in ${changelog.dir} does not hold${entry ? ` (${entry.file} has checksum ${entry.checksum})` : ''}`, {
        ...(entry ? { location: { file: entry.file } } : {}),
        hint: 'deploy from a checkout whose changelog contains the release\'s entries unchanged',
      });
    }
    const loc = locateStore(opts.spec, opts.kilnDir, opts.env, store, secrets);
    const conn = await connectStore(loc);
    try {
      const status = await storeStatus(conn, changelog);
      assertConsistent(status, `store ${store} of environment "${opts.env}"`);
      const pending = status.pending.filter((e) => e.position <= head.position);
      const findings = lintChangelog({ ...changelog, entries: pending });
      const refused = findings.filter((f) => !f.allowed && !opts.allowBreaking);
      const first = refused[0];
      if (first) {
        throw new KilnError('DATA_BREAKING', `release ${opts.release}: ${first.name} ${first.reason}`, {
          location: { file: first.file, line: first.line, column: first.column },
          hint: 'split it: add the new shape now and remove the old one in a later release, or mark the entry "-- kiln:breaking" if servers of the previous release may break',
          details: refused.slice(1).map((f) => `${f.file}:${f.line}:${f.column}: ${f.reason}`),
        });
      }
      plans.push({
        changelog,
        loc,
        step: {
          store,
          engine: loc.engine,
          from: status.position,
          to: Math.max(status.position, head.position),
          entries: pending.map((e) => ({ position: e.position, name: e.name })),
          allowedBreaking: findings,
          ahead: status.position > head.position,
        },
      });
    } finally {
      await conn.close();
    }
  }
  if (opts.dryRun) return plans.map((p) => p.step);
  for (const { step, changelog, loc } of plans) {
    if (!step.entries.length) continue;
    const conn = await connectStore(loc);
    try {
      await migrateStore(conn, changelog, `store ${step.store} of environment "${opts.env}"`, {
        toPosition: opts.heads[step.store]?.position ?? 0,
        release: opts.release,
        onEntry: (e, ms) => opts.onProgress?.(`${step.store}: applied ${e.name} (${ms} ms)`),
      });
    } finally {
      await conn.close();
    }
  }
  return plans.map((p) => p.step);
}

/** One line per store for a deploy's progress: what was (or will be) applied. */
export function formatDataStep(s: StoreDeployStep): string {
  if (s.ahead) return `data ${s.store}: already at ${s.from}, past the release's ${s.to}: nothing to apply`;
  if (!s.entries.length) return `data ${s.store}: at ${s.to}, nothing to apply`;
  return `data ${s.store}: ${s.from} -> ${s.to} (${s.entries.map((e) => e.name).join(', ')})`;
}
