// Which Runtime a group's servers run on: one per kind, podman's configured per environment
// from kiln.yaml (`environments.<env>.podman`), so nothing about this machine is hard-coded.
import { PodmanRuntime } from '../runtime/podman/podman-runtime.js';
import { ProcessRuntime } from '../runtime/process/process-runtime.js';
import type { Runtime } from '../runtime/types.js';
import type { ProjectSpec } from '../spec/types.js';

export type RuntimeLookup = (env: string, kind: string) => Runtime;

export function runtimeLookup(spec: ProjectSpec, kilnDir: string): RuntimeLookup {
  const processRuntime = new ProcessRuntime();
  const podman = new Map<string, PodmanRuntime>();
  return (env, kind) => {
    if (kind !== 'podman') return processRuntime;
    let r = podman.get(env);
    if (!r) {
      const p = spec.environments[env]?.podman;
      r = new PodmanRuntime({
        store: kilnDir,
        settings: {
          ...(p?.ociRuntime ? { ociRuntime: p.ociRuntime } : {}),
          ...(p?.ulimits.length ? { ulimits: p.ulimits } : {}),
          ...(p?.network ? { network: p.network } : {}),
          ...(p?.containersConf ? { containersConf: p.containersConf } : {}),
          ...(p?.stopTimeoutMs !== undefined ? { stopTimeoutS: Math.ceil(p.stopTimeoutMs / 1000) } : {}),
        },
      });
      podman.set(env, r);
    }
    return r;
  };
}
