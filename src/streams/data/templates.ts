// PostgreSQL template databases (kiln_snap_<digest>): replicas copy them instead of restoring a
// dump each time (replica.ts). Each holds a whole copy of a snapshot, so they must not pile up:
// per store, only the newest snapshot's template is kept on a server (plus the one a replica is
// using right now). Older ones are dropped when a newer snapshot is taken or a replica is made,
// and `kiln data prune <store> --env <env> [--all]` drops them on demand (with the temporary
// databases killed replicas left).
import type { Store } from '../../store/init.js';
import type { StoreConnection } from './engine.js';
import { pgTargetOf, type StoreLocation } from './bindings.js';
import { dropOrphanPgTemps } from './pg-temps.js';
import { openPostgres, quoteIdent, removeOrphanPassFiles } from './postgres.js';
import { pgTemplateName } from './replica.js';
import { listDataTags } from './tags.js';

export interface TemplatePrune {
  /** Templates of this store's snapshots still on the server. */
  kept: string[];
  dropped: string[];
  /** Templates that could not be dropped now (say, a replica is copying one): tried again next time. */
  failed: Array<{ name: string; error: string }>;
  /** Temporary databases of killed replicas dropped on the way (prunePgTemplates only; see pg-temps.ts). */
  temporaries?: string[];
}

/** The template names of a store's snapshots, oldest first (several tags may share a digest). */
export function storeTemplates(store: Store, storeName: string): string[] {
  const names = listDataTags(store.db, storeName)
    .filter((t) => t.source.engine === 'postgres')
    .map((t) => pgTemplateName(t.digest));
  return [...new Set(names.reverse())].reverse();
}

/**
 * Drops the store's template databases on the server `admin` is connected to, except those
 * named in `keep`. A template must stop being one before PostgreSQL lets it be dropped.
 */
export async function dropPgTemplates(admin: StoreConnection, candidates: string[], keep: ReadonlySet<string>): Promise<TemplatePrune> {
  const out: TemplatePrune = { kept: [], dropped: [], failed: [] };
  if (!candidates.length) return out;
  const present = new Set(
    (await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE starts_with(datname, 'kiln_snap_')")).map((r) => r.datname),
  );
  for (const name of candidates) {
    if (!present.has(name)) continue;
    if (keep.has(name)) {
      out.kept.push(name);
      continue;
    }
    try {
      await admin.exec(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE false`);
      await admin.exec(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      out.dropped.push(name);
    } catch (e) {
      out.failed.push({ name, error: (e as Error).message });
    }
  }
  return out;
}

/**
 * Prunes the templates of `loc`'s store on `loc`'s server: keeps the newest snapshot's (and
 * `alsoKeep`), or none with `all`.
 */
export async function prunePgTemplates(store: Store, loc: Extract<StoreLocation, { engine: 'postgres' }>, opts: { all?: boolean; alsoKeep?: string[] } = {}): Promise<TemplatePrune> {
  const names = storeTemplates(store, loc.store);
  const keep = new Set(opts.all ? [] : [...names.slice(-1), ...(opts.alsoKeep ?? [])]);
  const t = pgTargetOf(loc);
  const admin = await openPostgres(t, 'postgres');
  try {
    const temporaries = await dropOrphanPgTemps(admin, { databases: [t.database], templates: true });
    removeOrphanPassFiles();
    return { ...(await dropPgTemplates(admin, names, keep)), temporaries };
  } finally {
    await admin.close();
  }
}
