// Which Runtime a group's servers run on: one per kind, podman's configured per environment
// from kiln.yaml (`environments.<env>.podman`), so nothing about this machine is hard-coded.
import { PodmanRuntime } from '../runtime/podman/podman-runtime.js';
import { ProcessRuntime } from '../runtime/process/process-runtime.js';
import type { Runtime } from '../runtime/types.js';
import type { ProjectSpec } from '../spec/types.js';
import { settingsFromEnv } from '../runtime/podman/settings.js';
import { sqliteStoreFiles } from '../streams/data/bindings.js';

export type RuntimeLookup = (env: string, kind: string) => Runtime;

/** `spec`: the project, or a function reading it when a runtime is first needed (created environments). */
export function runtimeLookup(spec: ProjectSpec | (() => ProjectSpec), kilnDir: string): RuntimeLookup {
  const processRuntime = new ProcessRuntime();
  const podman = new Map<string, PodmanRuntime>();
  return (env, kind) => {
    if (kind !== 'podman') return processRuntime;
    let r = podman.get(env);
    if (!r) {
      const project = typeof spec === 'function' ? spec() : spec;
      // SQLite files at custom paths get their directory mounted too (issue 4).
      r = new PodmanRuntime({ store: kilnDir, settings: settingsFromEnv(project.environments[env]?.podman), sqliteFiles: (e) => sqliteStoreFiles(project, kilnDir, e) });
      podman.set(env, r);
    }
    return r;
  };
}
