// `kiln env destroy <name>`: an environment created from a release leaves nothing behind —
// servers and containers stopped, routes and DNS names gone (its cluster, group and server rows
// are removed), its data stores, secret files, server logs and run directories deleted, and its
// row in created_environments removed. Deployments and events stay as history.
// An environment written in kiln.yaml is refused: it is not a value Kiln made, and its data may
// be the real thing (`kiln down --env <env>` stops its servers).
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';
import type { Emit } from '../deploy/execute.js';
import type { RunPaths } from '../server/paths.js';
import { secretsDir } from '../secrets/secrets.js';
import { loadSpec } from '../spec/load.js';
import type { RuntimeState } from '../store/runtime-state.js';
import type { Database } from '../store/state-db.js';
import { deleteCreatedEnvironment, getCreatedEnvironment } from './registry.js';
import { dropEnvironmentDatabases } from './pg-databases.js';

export interface EnvDestroyDeps {
  db: Database;
  state: RuntimeState;
  paths: RunPaths;
  specFile: string;
  /** Stops every server of the environment, routes first (deploy/teardown.ts). */
  teardown(env: string): Promise<{ groups: string[] }>;
  pushRoutes(): Promise<void>;
}

export function assertDestroyable(db: Database, specFile: string, env: string): void {
  const spec = loadSpec(specFile);
  if (spec.environments[env]) {
    throw new KilnError('USAGE', `environment "${env}" is written in ${spec.file}; only environments made with kiln env create can be destroyed`, {
      location: { flag: '<name>' },
      hint: `to stop its servers: kiln down --env ${env}`,
    });
  }
  if (!getCreatedEnvironment(db, env)) {
    throw new KilnError('ENV_NOT_FOUND', `there is no created environment "${env}"`, { location: { flag: '<name>' }, hint: 'see kiln env list' });
  }
}

/** Also used to clean up after a failed create, when the row may be the only thing made. */
export async function destroyEnvironment(deps: EnvDestroyDeps, env: string, emit: Emit): Promise<{ env: string; groups: string[]; removed: string[] }> {
  const servers = deps.state.clusters(env).flatMap((c) => deps.state.groups({ cluster: c.name }).flatMap((g) => deps.state.servers({ group: g.name })));
  const { groups } = await deps.teardown(env);
  const created = getCreatedEnvironment(deps.db, env);
  const dropped = created ? await dropEnvironmentDatabases(deps.paths.kilnDir, { ...created.definition, name: env }, (m) => emit('env.warning', m)) : [];
  if (dropped.length) emit('data.dropped', `environment ${env}: dropped database(s) ${dropped.join(', ')}`);
  deps.state.forgetEnvironment(env);
  await deps.pushRoutes();
  const kilnDir = deps.paths.kilnDir;
  const dirs = [path.join(kilnDir, 'data', env), secretsDir(kilnDir, env), path.join(kilnDir, 'logs', env), ...servers.map((s) => deps.paths.serverDir(s.name))];
  const removed: string[] = [];
  for (const d of dirs) {
    if (!fs.existsSync(d)) continue;
    fs.rmSync(d, { recursive: true, force: true });
    removed.push(path.relative(kilnDir, d));
  }
  deleteCreatedEnvironment(deps.db, env);
  emit('env.destroyed', `environment ${env}: ${groups.length} group(s) destroyed, ${removed.length} director${removed.length === 1 ? 'y' : 'ies'} removed`);
  return { env, groups, removed };
}
