// The control plane's side of `kiln env create|destroy` and `kiln promote`: argument checks,
// locks and the calls into src/env. Kept out of control-plane.ts, which only wires it up.
import { KilnError } from '../errors.js';
import type { Emit } from '../deploy/execute.js';
import { environmentOf } from '../spec/lookup.js';
import { createEnvironment, type EnvCreateRequest } from '../env/create.js';
import { assertDestroyable, destroyEnvironment } from '../env/destroy.js';
import { getRelease } from '../release/index.js';
import type { ProjectSpec } from '../spec/types.js';
import type { Store } from '../store/init.js';
import type { RuntimeState } from '../store/runtime-state.js';
import type { DeployLockRow } from '../store/deploy-lock.js';
import { getCreatedEnvironment } from '../env/registry.js';
import type { StreamWriter } from './api.js';
import type { RunPaths } from './paths.js';

export interface EnvApiHost {
  store: Store;
  state: RuntimeState;
  paths: RunPaths;
  specFile: string;
  currentSpec(): ProjectSpec;
  /** The API's deploy: body {env, release, digest?}. */
  deploy(body: Record<string, unknown>, out: StreamWriter): Promise<unknown>;
  /** Runs `fn` holding the deploy-lock row `key`; the row names the operation, so a crash leaves its intent. */
  exclusive<T>(key: string, fn: () => Promise<T>, operation: string): Promise<T>;
  emitter(env: string | null, out: StreamWriter): Emit;
  teardown(env: string, emit: Emit): Promise<{ groups: string[] }>;
  pushRoutes(): Promise<void>;
}

type Handler = (body: Record<string, unknown>, out: StreamWriter) => Promise<unknown>;

function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || !v) throw new KilnError('USAGE', `"${field}" is required`, { location: { flag: `--${field}` } });
  return v;
}
const optStr = (v: unknown, field: string): string | undefined => (v === undefined || v === null ? undefined : str(v, field));

/** Lock-row keys and operation names: the row written before an operation's first side effect is its intent. */
export const ENV_CREATE = 'env create';
export const ENV_DESTROY = 'env destroy';
/** Held by `kiln rebuild --deploy` (the CLI) while its side-by-side environment exists. */
export const REBUILD_SIDE = 'rebuild side-by-side';
export const createKey = (env: string): string => `create:${env}`;
export const rebuildKey = (side: string): string => `rebuild:${side}`;

/** Whether a lock row is an env operation's (its intent is finished at control-plane start). */
export const isEnvOperation = (r: DeployLockRow): boolean => r.env.startsWith('create:') || r.env.startsWith('rebuild:') || r.operation === ENV_DESTROY;

const silent: StreamWriter = { event: () => undefined };

function destroyer(host: EnvApiHost) {
  return (env: string, out: StreamWriter): Promise<{ env: string; groups: string[]; removed: string[] }> =>
    destroyEnvironment(
      { db: host.store.db, state: host.state, paths: host.paths, specFile: host.specFile, teardown: (e) => host.teardown(e, host.emitter(e, out)), pushRoutes: () => host.pushRoutes() },
      env,
      host.emitter(env, out),
    );
}

/**
 * An operation whose owner died (the lock row it left): `env create` is reversed (the half-made
 * environment destroyed: re-running the same create makes it), `env destroy` is completed, and a
 * rebuild's side-by-side environment is destroyed. Only created environments are touched, never
 * one written in kiln.yaml. Returns what was done, for the log.
 */
export async function finishInterrupted(host: EnvApiHost, row: DeployLockRow): Promise<string | null> {
  const destroy = destroyer(host);
  const env = row.env.startsWith('create:') ? row.env.slice('create:'.length) : row.env.startsWith('rebuild:') ? row.env.slice('rebuild:'.length) : row.operation === ENV_DESTROY ? row.env : null;
  if (!env || !getCreatedEnvironment(host.store.db, env)) return null;
  try {
    assertDestroyable(host.store.db, host.specFile, env); // written in kiln.yaml meanwhile: never destroyed
  } catch {
    return null;
  }
  await host.exclusive(env, () => destroy(env, silent), ENV_DESTROY);
  const what = row.operation === ENV_DESTROY ? 'completed the interrupted destroy of' : row.env.startsWith('rebuild:') ? 'destroyed the abandoned side-by-side environment' : 'reversed the interrupted create of';
  return `${what} ${env}`;
}

export function envHandlers(host: EnvApiHost): { envCreate: Handler; envDestroy: Handler; promote: Handler } {
  const destroy = destroyer(host);
  return {
    envCreate: (body, out) => {
      const req: EnvCreateRequest = {
        name: str(body.name, 'name'),
        release: str(body.release, 'release'),
        ...(optStr(body.like, 'like') ? { like: body.like as string } : {}),
        ...(optStr(body.dataFrom, 'data-from') ? { dataFrom: body.dataFrom as string } : {}),
        ...(body.freshSnapshot === true ? { freshSnapshot: true } : {}),
      };
      // Its own lock key: the deploy inside takes the environment's deploy lock.
      return host.exclusive(createKey(req.name), () =>
        createEnvironment(
          {
            store: host.store,
            spec: () => host.currentSpec(),
            deploy: (env, release) => host.deploy({ env, release }, out),
            destroy: (env) => host.exclusive(env, () => destroy(env, out), ENV_DESTROY),
          },
          req,
          host.emitter(req.name, out),
        ),
        ENV_CREATE,
      );
    },
    envDestroy: (body, out) => {
      const env = str(body.name, 'name');
      assertDestroyable(host.store.db, host.specFile, env);
      return host.exclusive(env, () => destroy(env, out), ENV_DESTROY);
    },
    promote: async (body, out) => {
      const spec = host.currentSpec();
      const from = str(body.from, 'from');
      const to = str(body.to, 'to');
      environmentOf(spec, from);
      environmentOf(spec, to);
      const rel = getRelease(host.store.db, host.store.oci, str(body.release, 'release'));
      const tested = host.state.deployedOk(from, rel.name);
      if (!tested && body.force !== true) {
        throw new KilnError('PROMOTE_REFUSED', `${rel.name} never ran healthy in ${from}: refusing to promote it to ${to}`, {
          location: { flag: '--from' },
          hint: `deploy it there first (kiln deploy ${rel.name} --env ${from}), or pass --force`,
        });
      }
      host.emitter(to, out)('promote.started', `promote ${rel.name} (${rel.digest}) from ${from} to ${to}${tested ? '' : ' (--force: never healthy in ' + from + ')'}`);
      return { from, tested, ...(await host.deploy({ env: to, release: rel.name, digest: rel.digest }, out) as Record<string, unknown>) };
    },
  };
}
