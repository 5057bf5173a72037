// Whether an environment runs on Kubernetes: apart from environment.ts, so a caller can ask
// without loading the cluster client (cli/kubernetes.ts decides with it what to load).
import type { ProjectSpec } from '../../spec/types.js';

export function isKubernetesEnv(spec: ProjectSpec, env: string): boolean {
  return spec.environments[env]?.runtime === 'kubernetes';
}
