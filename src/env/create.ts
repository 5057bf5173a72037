// `kiln env create <name> --release rN [--like <env>] [--data-from <env>]`, run by the control
// plane: a full, isolated context for one release. Its own clusters (<service>-<role>-<name>),
// DNS names, logs, flags, secret files (copied from the environment it is like) and data stores
// (replicas of --data-from's snapshot plus the release's changelog). Creating one never touches
// another environment: the source's data is only read (a snapshot). Any failure destroys what
// was made, so a failed create leaves no trace either.
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';
import type { Emit } from '../deploy/execute.js';
import { environmentOf } from '../spec/lookup.js';
import { clusterName } from '../names/names.js';
import { getRelease } from '../release/index.js';
import type { ReleaseRecord } from '../release/types.js';
import { listSecrets, secretsDir, setSecret } from '../secrets/secrets.js';
import type { ProjectSpec } from '../spec/types.js';
import type { Store } from '../store/init.js';
import {
  changelogOf,
  createReplica,
  describeLocation,
  findSnapshot,
  formatPosition,
  locateStore,
  snapshotStore,
  type DataTag,
} from '../streams/data/index.js';
import { definitionLike, insertCreatedEnvironment, withCreatedEnvironments } from './registry.js';
import type { EnvironmentSpec } from '../spec/types.js';
import { createEmptyDatabases, retargetDatabaseSecrets } from './pg-databases.js';

export interface EnvCreateRequest {
  name: string;
  release: string;
  /** kiln.yaml environment whose settings are copied (default: the first with runtime process). */
  like?: string;
  /** Environment whose data is replicated (default: none, the stores start empty). */
  dataFrom?: string;
  /** Take a new snapshot of --data-from instead of using its latest one. */
  freshSnapshot?: boolean;
}

export interface EnvDeps {
  store: Store;
  /** kiln.yaml with the created environments, read now. */
  spec(): ProjectSpec;
  /** The normal deploy of a release to an environment (data, groups, health, switch). */
  deploy(env: string, release: string): Promise<unknown>;
  /** Everything of the environment gone: servers, routes, names, rows, files. */
  destroy(env: string): Promise<unknown>;
}

export interface EnvCreateResult {
  env: string;
  like: string;
  release: string;
  digest: string;
  dataFrom: string | null;
  replicas: Array<{ store: string; snapshot: string; position: number }>;
  deploy: unknown;
}

/** The default --like: the first kiln.yaml environment that runs processes (else the first). */
export function defaultLike(spec: ProjectSpec): string {
  const envs = Object.values(spec.environments);
  const env = envs.find((e) => e.runtime === 'process') ?? envs[0];
  if (!env) throw new KilnError('ENV_NOT_FOUND', `${spec.file} defines no environment to copy`, { hint: 'add one under environments:' });
  return env.name;
}

/** Checks everything that can be checked before anything is made: bad input changes nothing. */
export function checkCreate(spec: ProjectSpec, req: EnvCreateRequest, rel: ReleaseRecord): { like: string } {
  const like = req.like ?? defaultLike(spec);
  definitionLike(spec, req.name, like);
  // Every name of the release's clusters must fit in a DNS label, up to the last server of a
  // build past v999 (says which part is too long).
  const scale = spec.environments[like]?.scale ?? {};
  for (const [service, svc] of Object.entries(rel.manifest.services)) {
    for (const [role, r] of Object.entries(svc.roles)) clusterName(service, role, req.name, scale[service]?.[role] ?? r.replicas);
  }
  if (req.dataFrom !== undefined) {
    try {
      environmentOf(spec, req.dataFrom);
    } catch (e) {
      if (e instanceof KilnError) throw new KilnError(e.code, e.message, { location: { flag: '--data-from' }, ...(e.hint ? { hint: e.hint } : {}) });
      throw e;
    }
  }
  return { like };
}

export async function createEnvironment(deps: EnvDeps, req: EnvCreateRequest, emit: Emit): Promise<EnvCreateResult> {
  const { store } = deps;
  const spec = deps.spec();
  const rel = getRelease(store.db, store.oci, req.release);
  const { like } = checkCreate(spec, req, rel);
  insertCreatedEnvironment(store.db, { name: req.name, like, release: rel.name, dataFrom: req.dataFrom ?? null, definition: definitionLike(spec, req.name, like) });
  emit('env.created', `environment ${req.name}: like ${like}, release ${rel.name}${req.dataFrom ? `, data from ${req.dataFrom}` : ''}`);
  try {
    const withNew = withCreatedEnvironments(spec, store.db);
    copySecrets(store.kilnDir, like, req.name);
    const databases = retargetDatabaseSecrets(store.kilnDir, withNew.environments[req.name] as EnvironmentSpec);
    if (databases.length) emit('data.database', `environment ${req.name}: its own PostgreSQL database(s) ${databases.join(', ')}`);
    if (!req.dataFrom && databases.length) await createEmptyDatabases(store.kilnDir, withNew.environments[req.name] as EnvironmentSpec);
    const replicas = req.dataFrom ? await replicateData(store, withNew, rel, req.dataFrom, req.name, req.freshSnapshot === true, emit) : [];
    const deploy = await deps.deploy(req.name, rel.name);
    return { env: req.name, like, release: rel.name, digest: rel.digest, dataFrom: req.dataFrom ?? null, replicas, deploy };
  } catch (e) {
    emit('env.failed', `environment ${req.name}: ${(e as Error).message}; destroying what was made`);
    await deps.destroy(req.name);
    throw e;
  }
}

/** The secret files of the environment it is like, so its flags render the same way. */
function copySecrets(kilnDir: string, from: string, to: string): void {
  for (const name of listSecrets(kilnDir, from)) {
    setSecret(kilnDir, to, name, fs.readFileSync(path.join(secretsDir(kilnDir, from), name)));
  }
}

/**
 * Each store of the release: a replica of the source's snapshot with the changelog applied up to
 * the release's head. The source is only read (an online backup), so it is untouched.
 */
async function replicateData(store: Store, spec: ProjectSpec, rel: ReleaseRecord, from: string, to: string, fresh: boolean, emit: Emit): Promise<EnvCreateResult['replicas']> {
  const out: EnvCreateResult['replicas'] = [];
  for (const [name, head] of Object.entries(rel.manifest.data ?? {})) {
    const changelog = changelogOf(spec, name);
    const source = locateStore(spec, store.kilnDir, from, name);
    let snap: DataTag | undefined;
    if (!fresh) {
      try {
        snap = findSnapshot(store.db, name, { env: from, maxPosition: head.position });
      } catch (e) {
        if (!(e instanceof KilnError) || e.code !== 'TAG_NOT_FOUND') throw e;
      }
    }
    if (!snap) {
      const taken = await snapshotStore(store, source, changelog);
      snap = taken.tag;
      emit('data.snapshot', `data ${name}: snapshot of ${describeLocation(source)} -> ${taken.ref}`);
    }
    const target = locateStore(spec, store.kilnDir, to, name);
    const r = await createReplica(store, target, changelog, snap, { toPosition: head.position, release: rel.name });
    emit('data.replica', `data ${name}: replica for ${to} from ${r.snapshot}, ${r.migrate.applied.length} entries applied, at ${formatPosition(r.migrate.to)}`);
    out.push({ store: name, snapshot: r.snapshot, position: r.migrate.to });
  }
  return out;
}
