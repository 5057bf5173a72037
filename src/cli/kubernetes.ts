// Whether a verb's environment runs on Kubernetes, decided before anything of Kubernetes is
// loaded: the verbs on such an environment (kubernetes-ops.ts) bring the cluster client, the
// manifests and the data engines, which a process or podman environment never needs. Those go
// through the control plane as before (null here).
import type { CommandContext } from './command.js';
import { isKubernetesEnv } from '../runtime/kubernetes/is-kubernetes.js';
import type { ProjectSpec } from '../spec/types.js';

/**
 * kiln.yaml (with the created environments) when `env` runs on Kubernetes, else null. Without an
 * environment nothing is read (`kiln status` of every environment asks the control plane).
 */
async function kubernetesSpec(ctx: CommandContext, env: string | undefined): Promise<ProjectSpec | null> {
  if (!env) return null;
  const { loadProjectSpec } = await import('../env/project-spec.js');
  let spec: ProjectSpec;
  try {
    spec = loadProjectSpec(ctx.cwd); // kiln.yaml's environments and the ones made by kiln env create
  } catch {
    return null; // the usual path reports a bad or missing kiln.yaml with its own message
  }
  return isKubernetesEnv(spec, env) ? spec : null;
}

const ops = (): Promise<typeof import('./kubernetes-ops.js')> => import('./kubernetes-ops.js');

export async function kubeDeploy(ctx: CommandContext, env: string, releaseName: string, dryRun: boolean): Promise<number | null> {
  const spec = await kubernetesSpec(ctx, env);
  return spec ? (await ops()).kubeDeploy(ctx, spec, env, releaseName, dryRun) : null;
}

export async function kubeStatus(ctx: CommandContext, env: string | undefined): Promise<number | null> {
  const spec = await kubernetesSpec(ctx, env);
  return spec && env ? (await ops()).kubeStatus(ctx, spec, env) : null;
}

export async function kubeRollback(ctx: CommandContext, env: string, cluster: string | undefined): Promise<number | null> {
  const spec = await kubernetesSpec(ctx, env);
  return spec ? (await ops()).kubeRollback(ctx, spec, env, cluster) : null;
}

export async function kubeDown(ctx: CommandContext, env: string | undefined): Promise<number | null> {
  const spec = await kubernetesSpec(ctx, env);
  return spec && env ? (await ops()).kubeDown(ctx, spec, env) : null;
}
