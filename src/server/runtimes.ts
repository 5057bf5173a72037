// Which Runtime a group's servers run on: one per kind, podman's configured per environment
// from kiln.yaml (`environments.<env>.podman`), so nothing about this machine is hard-coded.
import { PodmanRuntime } from '../runtime/podman/podman-runtime.js';
import { ProcessRuntime } from '../runtime/process/process-runtime.js';
import type { PrepareServer, Runtime } from '../runtime/types.js';
import type { ProjectSpec } from '../spec/types.js';
import { settingsFromEnv } from '../runtime/podman/settings.js';
import { sqliteStoreFiles } from '../streams/data/bindings.js';
import type { Isolation } from '../isolation/isolation.js';
import { makeExecutor, type Executor } from '../runtime/podman/executor.js';
import { podmanEnv, type PodmanSettings } from '../runtime/podman/commands.js';
import { missingToolsError, onPath } from '../runtime/tools.js';

export type RuntimeLookup = (env: string, kind: string) => Runtime;

/**
 * `spec`: the project, or a function reading it when a runtime is first needed (created environments).
 * `isolation`: who servers run as (docs/isolation.md); without it (e.g. only stopping), as Kiln.
 */
export function runtimeLookup(spec: ProjectSpec | (() => ProjectSpec), kilnDir: string, isolation?: Isolation): RuntimeLookup {
  const specNow = (): ProjectSpec => (typeof spec === 'function' ? spec() : spec);
  const prepare: PrepareServer = (launch) =>
    isolation?.prepareServer({ env: launch.env, workDir: launch.workDir, logFile: launch.logFile, stores: Object.keys(sqliteStoreFiles(specNow(), kilnDir, launch.env)) }) ?? null;
  const processRuntime = new ProcessRuntime({ prepare });
  const podman = new Map<string, PodmanRuntime>();
  return (env, kind) => {
    if (kind !== 'podman') return processRuntime;
    let r = podman.get(env);
    if (!r) {
      const project = specNow();
      // The files a server is given (secrets, SQLite stores wherever they are) come typed in its
      // launch (runtime/args.ts): the runtime mounts exactly those.
      const settings = settingsFromEnv(project.environments[env]?.podman);
      r = new PodmanRuntime({ store: kilnDir, settings, exec: namingEnvironment(env, settings), prepare });
      podman.set(env, r);
    }
    return r;
  };
}

/**
 * Podman's executor for one environment: a program missing here is an error naming the
 * environment that needs it (tools.ts), whichever operation (deploy, rollback, stop) hit it.
 */
function namingEnvironment(env: string, settings: PodmanSettings): Executor {
  const processEnv = podmanEnv(settings);
  const run = makeExecutor(processEnv);
  return async (cmd) => {
    if (!onPath(cmd.file, processEnv)) throw missingToolsError(env, 'podman', [cmd.file]);
    return run(cmd);
  };
}
