// The control plane's side of `kiln env create|destroy` and `kiln promote`: argument checks,
// locks and the calls into src/env. Kept out of control-plane.ts, which only wires it up.
import { KilnError } from '../errors.js';
import type { Emit } from '../deploy/execute.js';
import { environmentOf } from '../deploy/plan.js';
import { createEnvironment, type EnvCreateRequest } from '../env/create.js';
import { assertDestroyable, destroyEnvironment } from '../env/destroy.js';
import { getRelease } from '../release/index.js';
import type { ProjectSpec } from '../spec/types.js';
import type { Store } from '../store/init.js';
import type { RuntimeState } from '../store/runtime-state.js';
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
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T>;
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

export function envHandlers(host: EnvApiHost): { envCreate: Handler; envDestroy: Handler; promote: Handler } {
  const destroy = (env: string, out: StreamWriter): Promise<{ env: string; groups: string[]; removed: string[] }> =>
    destroyEnvironment(
      { db: host.store.db, state: host.state, paths: host.paths, specFile: host.specFile, teardown: (e) => host.teardown(e, host.emitter(e, out)), pushRoutes: () => host.pushRoutes() },
      env,
      host.emitter(env, out),
    );
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
      return host.exclusive(`create:${req.name}`, () =>
        createEnvironment(
          {
            store: host.store,
            spec: () => host.currentSpec(),
            deploy: (env, release) => host.deploy({ env, release }, out),
            destroy: (env) => host.exclusive(env, () => destroy(env, out)),
          },
          req,
          host.emitter(req.name, out),
        ),
      );
    },
    envDestroy: (body, out) => {
      const env = str(body.name, 'name');
      assertDestroyable(host.store.db, host.specFile, env);
      return host.exclusive(env, () => destroy(env, out));
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
