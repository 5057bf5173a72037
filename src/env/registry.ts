// Environments as values (issue 6): besides the ones written in kiln.yaml, an environment can be
// created from a release (`kiln env create test-r7 --release r7 --like prod --data-from prod`).
// Its definition is a copy of the kiln.yaml environment it is like, kept in state.db
// (created_environments, migration 4). Everything that resolves an environment by name sees it
// once the spec went through withCreatedEnvironments().
import { KilnError } from '../errors.js';
import { assertPart } from '../names/names.js';
import { environmentOf } from '../spec/lookup.js';
import type { EnvironmentSpec, ProjectSpec } from '../spec/types.js';
import type { Database } from '../store/state-db.js';

export interface CreatedEnvironment {
  name: string;
  /** The kiln.yaml environment whose settings it copies. */
  like: string;
  /** The release it was created with. */
  release: string;
  /** Where its data came from (null: its stores started empty). */
  dataFrom: string | null;
  definition: EnvironmentSpec;
  createdAt: string;
}

interface Row {
  name: string;
  like_env: string;
  release: string;
  data_from: string | null;
  definition: string;
  created_at: string;
}

const toEnv = (r: Row): CreatedEnvironment => ({
  name: r.name,
  like: r.like_env,
  release: r.release,
  dataFrom: r.data_from,
  definition: JSON.parse(r.definition) as EnvironmentSpec,
  createdAt: r.created_at,
});

export function listCreatedEnvironments(db: Database): CreatedEnvironment[] {
  return (db.prepare('SELECT * FROM created_environments ORDER BY name').all() as Row[]).map(toEnv);
}

export function getCreatedEnvironment(db: Database, name: string): CreatedEnvironment | undefined {
  const r = db.prepare('SELECT * FROM created_environments WHERE name = ?').get(name) as Row | undefined;
  return r ? toEnv(r) : undefined;
}

export function insertCreatedEnvironment(db: Database, e: Omit<CreatedEnvironment, 'createdAt'>): void {
  db.prepare('INSERT INTO created_environments(name, like_env, release, data_from, definition, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    e.name,
    e.like,
    e.release,
    e.dataFrom,
    JSON.stringify(e.definition),
    new Date().toISOString(),
  );
}

export function deleteCreatedEnvironment(db: Database, name: string): void {
  db.prepare('DELETE FROM created_environments WHERE name = ?').run(name);
}

/** The spec with the created environments added (kiln.yaml's own win on a name clash). */
export function withCreatedEnvironments(spec: ProjectSpec, db: Database): ProjectSpec {
  const created = listCreatedEnvironments(db);
  if (!created.length) return spec;
  const environments: Record<string, EnvironmentSpec> = { ...spec.environments };
  for (const e of created) if (!environments[e.name]) environments[e.name] = { ...e.definition, name: e.name };
  return { ...spec, environments };
}

/**
 * The definition of a new environment `name` like kiln.yaml's `like`: runtime, podman or kubernetes settings,
 * scale, flag values and the maintenance answer are copied. Data bindings are not shared: a SQLite store gets its own
 * file under .kiln/data/<name>/; a PostgreSQL store gets a database of its own on the same
 * server (pg-databases.ts), never the other environment's.
 */
export function definitionLike(spec: ProjectSpec, name: string, like: string): EnvironmentSpec {
  assertPart('environment', name);
  if (spec.environments[name]) {
    throw new KilnError('ENV_EXISTS', `environment "${name}" already exists`, {
      location: { flag: '<name>' },
      // Not "kiln env destroy <name>": that refuses an environment written in kiln.yaml.
      hint: 'pick another name (kiln env list shows the taken ones); one made by kiln env create goes with kiln env destroy <name>',
    });
  }
  const base = environmentOf(spec, like, '--like');
  const data: NonNullable<EnvironmentSpec['data']> = {};
  for (const [store, b] of Object.entries(base.data ?? {})) {
    const engine = b.engine ?? spec.data[store]?.engine ?? 'sqlite';
    if (engine === 'postgres') {
      // Its own database on the same server (see pg-databases.ts), found through its own copy of the secret.
      if (!b.urlSecret) throw new KilnError('SPEC_INVALID', `store ${store} of environment ${like} is PostgreSQL without a url secret`);
      data[store] = { engine, urlSecret: b.urlSecret };
    } else data[store] = { engine };
  }
  const def: EnvironmentSpec = {
    name,
    runtime: base.runtime,
    ...(base.podman ? { podman: structuredClone(base.podman) } : {}),
    // The same cluster and namespace: every object is named and labelled with the environment.
    ...(base.kubernetes ? { kubernetes: structuredClone(base.kubernetes) } : {}),
    scale: structuredClone(base.scale),
    flags: structuredClone(base.flags),
    args: structuredClone(base.args),
    // Its maintenance page and Retry-After: `kiln maintenance on` answers the same in both.
    ...(base.maintenance ? { maintenance: structuredClone(base.maintenance) } : {}),
  };
  if (Object.keys(data).length) def.data = data;
  return def;
}
