// What deploy needs from the data layer (ARCHITECTURE.md, "Deploy", step 1): the changelog
// heads a release freezes, and bringing an environment's stores to those heads before the
// switch, refusing entries that would break the servers still running the previous release.
import { KilnError } from '../../errors.js';
import type { ProjectSpec } from '../../spec/types.js';
import { defaultSecretPath, locateStore, type SecretPathResolver } from './bindings.js';
import { changelogOf, formatPosition } from './changelog.js';
import type { LintFinding } from './lint.js';
import type { MigrationJob, MigrationProgress } from './migrate-job.js';
import { describeProgress, runOffThread } from './off-thread.js';

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

/** The override a deploy's refusal names: the release says it is breaking. */
export const DEPLOY_BREAKING_OVERRIDE = 'create the release with `kiln release create --breaking`';

/**
 * Checks every store first (changelog matches the release's head, history consistent, no
 * entry refused by the gate) and only then applies, so a refusal changes no store. Both run on
 * a worker thread (off-thread.ts): the control plane's event loop never waits for a store.
 */
export async function prepareDataForDeploy(opts: PrepareDataOptions): Promise<StoreDeployStep[]> {
  const secrets = opts.secrets ?? defaultSecretPath(opts.kilnDir);
  const plans: Array<{ step: StoreDeployStep; job: MigrationJob }> = [];
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
    const lockWaitMs = opts.spec.data[store]?.lockWaitMs;
    const job: MigrationJob = {
      target: { kind: 'store', loc },
      changelog,
      what: `store ${store} of environment "${opts.env}"`,
      toPosition: head.position,
      release: opts.release,
      breaking: { allow: opts.allowBreaking === true, override: DEPLOY_BREAKING_OVERRIDE },
      ...(lockWaitMs !== undefined ? { lockWaitMs, waitMs: lockWaitMs } : {}),
    };
    const checked = await runOffThread({ ...job, what: `release ${opts.release}, ${job.what}`, dryRun: true }, { onProgress: progressTo(store, opts.onProgress) });
    plans.push({
      job,
      step: { store, engine: loc.engine, from: checked.from, to: checked.to, entries: checked.pending, allowedBreaking: checked.allowedBreaking, ahead: checked.ahead },
    });
  }
  if (opts.dryRun) return plans.map((p) => p.step);
  for (const { step, job } of plans) {
    if (!step.entries.length) continue;
    await runOffThread(job, { onProgress: progressTo(step.store, opts.onProgress) });
  }
  return plans.map((p) => p.step);
}

/** One line per store for a deploy's progress: what was (or will be) applied. */
export function formatDataStep(s: StoreDeployStep): string {
  if (s.ahead) return `data ${s.store}: already at ${s.from}, past the release's ${s.to}: nothing to apply`;
  if (!s.entries.length) return `data ${s.store}: at ${s.to}, nothing to apply`;
  return `data ${s.store}: ${s.from} -> ${s.to} (${s.entries.map((e) => e.name).join(', ')})`;
}

function progressTo(store: string, onProgress: ((line: string) => void) | undefined): (p: MigrationProgress) => void {
  return (p) => {
    const line = describeProgress(p);
    if (line) onProgress?.(`${store}: ${line}`);
  };
}
