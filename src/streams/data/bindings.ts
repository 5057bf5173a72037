// Where a store lives in an environment (kiln.yaml environments.<env>.data.<store>): a SQLite
// file (default .kiln/data/<env>/<store>.db) or a PostgreSQL database whose URL is in a secret
// file. The URL is read only when a connection is made and never kept in a location object,
// so a location can be printed or put in JSON safely.
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../../errors.js';
import type { DataEngine, ProjectSpec } from '../../spec/types.js';
import { environmentOf, storeOf } from '../../spec/lookup.js';
import type { StoreConnection } from './engine.js';
import { openPostgres, parsePgUrl, type PgTarget } from './postgres.js';
import { openSqlite } from './sqlite.js';

export type StoreLocation =
  | { engine: 'sqlite'; store: string; env: string; file: string }
  | { engine: 'postgres'; store: string; env: string; secret: string; secretFile: string };

/** Where the secret `name` of environment `env` is kept: a 0600 file holding only the value. */
export type SecretPathResolver = (env: string, name: string) => string;

/** Default secret files: .kiln/secrets/<env>/<name>. */
export function defaultSecretPath(kilnDir: string): SecretPathResolver {
  return (env, name) => path.join(kilnDir, 'secrets', env, name);
}

export function sqliteDefaultPath(kilnDir: string, env: string, store: string): string {
  return path.join(kilnDir, 'data', env, `${store}.db`);
}

export function locateStore(spec: ProjectSpec, kilnDir: string, env: string, store: string, secrets: SecretPathResolver = defaultSecretPath(kilnDir)): StoreLocation {
  const def = storeOf(spec, store);
  const environment = environmentOf(spec, env);
  const binding = environment.data?.[store] ?? {};
  const engine = binding.engine ?? def.engine;
  if (engine === 'sqlite') {
    return { engine, store, env, file: binding.path ? path.resolve(spec.dir, binding.path) : sqliteDefaultPath(kilnDir, env, store) };
  }
  if (!binding.urlSecret) {
    throw new KilnError('SPEC_INVALID', `environment "${env}" gives no URL for PostgreSQL store "${store}"`, {
      location: { file: spec.file },
      hint: `add environments.${env}.data.${store}.url: "\${secret.<name>}" and put the URL in that secret`,
    });
  }
  return { engine, store, env, secret: binding.urlSecret, secretFile: secrets(env, binding.urlSecret) };
}

/** The engines a store runs on across the project's environments (what its entries are checked for). */
export function storeEngines(spec: ProjectSpec, store: string): DataEngine[] {
  const engines = new Set<DataEngine>([storeOf(spec, store).engine]);
  for (const e of Object.values(spec.environments)) {
    const engine = e.data?.[store]?.engine;
    if (engine) engines.add(engine);
  }
  return [...engines].sort();
}

/** The PostgreSQL connection parts, read from the location's secret file. */
export function pgTargetOf(loc: Extract<StoreLocation, { engine: 'postgres' }>): PgTarget {
  let url: string;
  try {
    url = fs.readFileSync(loc.secretFile, 'utf8');
  } catch (e) {
    throw new KilnError('DATA_FAILED', `secret "${loc.secret}" of environment "${loc.env}" is missing (${loc.secretFile}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`, {
      hint: `store the URL of store "${loc.store}" in it (postgres://user:password@host:port/database), mode 0600`,
    });
  }
  return parsePgUrl(url, `secret "${loc.secret}"`);
}

export function describeLocation(loc: StoreLocation): string {
  return loc.engine === 'sqlite' ? `${loc.store} (${loc.env}, sqlite ${loc.file})` : `${loc.store} (${loc.env}, postgres from secret ${loc.secret})`;
}

export interface ConnectOptions {
  /** SQLite: how long a statement waits for another connection's lock before DATA_LOCKED. */
  lockWaitMs?: number;
  /** SQLite: called once when a statement has to wait for another connection's lock. */
  onBusy?: () => void;
}

/** Opens the store; a SQLite file (and its directory) is created when missing. */
export async function connectStore(loc: StoreLocation, opts: ConnectOptions = {}): Promise<StoreConnection> {
  if (loc.engine === 'sqlite') {
    fs.mkdirSync(path.dirname(loc.file), { recursive: true });
    return openSqlite(loc.file, { label: describeLocation(loc), ...opts });
  }
  const t = pgTargetOf(loc);
  try {
    return await openPostgres(t);
  } catch (e) {
    if (e instanceof KilnError) throw e;
    // pg's messages name host, user or database, never the password.
    throw new KilnError('DATA_FAILED', `cannot connect to store ${loc.store} of environment "${loc.env}" (secret ${loc.secret}): ${(e as Error).message}`, {
      hint: 'check the server is running and the URL in the secret file',
    });
  }
}

/**
 * What `${data.<store>.url}` renders to in a server's flags: the SQLite file's path, or the path
 * of the secret file holding the PostgreSQL URL (never the URL: it carries the password).
 */
export function dataFlagValue(loc: StoreLocation): string {
  return loc.engine === 'sqlite' ? loc.file : loc.secretFile;
}

/** The SQLite files of an environment's stores (file -> store), e.g. for container mounts. */
export function sqliteStoreFiles(spec: ProjectSpec, kilnDir: string, env: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!spec.environments[env]) return out;
  for (const store of Object.keys(spec.data)) {
    try {
      const loc = locateStore(spec, kilnDir, env, store);
      if (loc.engine === 'sqlite') out[loc.file] = store;
    } catch {
      // A PostgreSQL store without a URL: nothing to mount (its deploy says what is wrong).
    }
  }
  return out;
}
