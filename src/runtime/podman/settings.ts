// kiln.yaml's `environments.<env>.podman` as the runtime's settings.
import type { PodmanEnvSpec } from '../../spec/types.js';
import type { PodmanSettings } from './commands.js';

export function settingsFromEnv(p: PodmanEnvSpec | undefined): PodmanSettings {
  return {
    ...(p?.ociRuntime ? { ociRuntime: p.ociRuntime } : {}),
    ...(p?.ulimits.length ? { ulimits: p.ulimits } : {}),
    ...(p?.network ? { network: p.network } : {}),
    ...(p?.containersConf ? { containersConf: p.containersConf } : {}),
    ...(p?.stopTimeoutMs !== undefined ? { stopTimeoutS: Math.ceil(p.stopTimeoutMs / 1000) } : {}),
  };
}
