// The control plane's verbs on a Kubernetes environment. `kiln deploy|rollback|status|down` on
// one run in the CLI against the cluster (src/cli/kubernetes-ops.ts), which needs no control plane;
// the operations that compose a deploy with others — `env create` (a deploy into a new
// environment), `env destroy`, `promote` and `rebuild --deploy` (side by side, then the target) —
// run here like on every runtime, so they call these instead of the process/podman path. The same
// functions do the work in both places (runtime/kubernetes/deployer.ts, status.ts).
import { KilnError } from '../errors.js';
import type { ReleaseRecord } from '../release/types.js';
import type { Emit } from '../deploy/execute.js';
import type { ProjectSpec } from '../spec/types.js';
import type { RuntimeState } from '../store/runtime-state.js';
import { deployKubernetes, planKubernetesDeploy, rollbackKubernetes, type KubeDeployResult } from '../runtime/kubernetes/deployer.js';
import { planObjects } from '../runtime/kubernetes/render.js';
import type { KubeObject } from '../runtime/kubernetes/objects.js';
import { isKubernetesEnv, openKubeEnv, type KubeEnv } from '../runtime/kubernetes/environment.js';
import { downKubernetes, kubernetesStatus } from '../runtime/kubernetes/status.js';
import { kubeStatusView } from '../runtime/kubernetes/status-view.js';
import type { StatusView } from './status.js';

export { isKubernetesEnv };

export interface KubeOpsHost {
  kilnDir: string;
  state: RuntimeState;
}

export interface KubeSwitched {
  cluster: string;
  group: string;
  previous: string | null;
}

/** Runs `fn` on the environment opened for work, and closes its client after. */
export async function withKubeEnv<T>(spec: ProjectSpec, env: string, kilnDir: string, progress: (line: string) => void, fn: (k: KubeEnv) => Promise<T>): Promise<T> {
  const k = openKubeEnv(spec, env, kilnDir, progress);
  try {
    return await fn(k);
  } finally {
    k.client.close();
  }
}

/** `deploy --dry-run` on Kubernetes: the objects the deploy would apply (those of changed clusters). */
export interface KubeDryRun {
  release: string;
  env: string;
  runtime: 'kubernetes';
  namespace: string;
  unchanged: string[];
  objects: KubeObject[];
  text: string;
}

/** The same plan the deploy makes, read against the cluster now; nothing is written. */
export async function kubeDryRun(k: KubeEnv, release: ReleaseRecord): Promise<KubeDryRun> {
  const { plan, unchanged } = await planKubernetesDeploy(k, release);
  const lines = [`deploy ${plan.release} to ${k.env} (runtime kubernetes, namespace ${plan.namespace}):`];
  for (const c of plan.clusters) {
    lines.push(unchanged.has(c.cluster) ? `  ${c.cluster}: unchanged` : `  ${c.cluster}: new group ${c.group} with ${c.replicas} pod(s), then switch`);
  }
  lines.push('  (`--json` has the objects; `kiln render kubernetes` writes them as files)');
  return {
    release: plan.release,
    env: k.env,
    runtime: 'kubernetes',
    namespace: plan.namespace,
    unchanged: [...unchanged],
    objects: planObjects(plan).filter((o) => !unchanged.has(o.metadata.labels['kiln.io/cluster'] ?? '')),
    text: lines.join('\n'),
  };
}

/**
 * A deploy recorded in state.db's deployments like any other (its history, and what `promote`
 * checks: "ran healthy in --from"); the cluster keeps the state that decides what runs.
 */
export async function recordedKubeDeploy(
  state: RuntimeState,
  k: KubeEnv,
  release: ReleaseRecord,
  emitFor: (deployment: number) => Emit,
): Promise<KubeDeployResult & { groups: KubeSwitched[] }> {
  const env = k.env;
  const id = state.startDeployment(env, release.name, 'deploy');
  const emit = emitFor(id);
  emit('deploy.started', `deploy ${release.name} (${release.digest.slice(0, 19)}) to ${env} (kubernetes)`);
  try {
    const result = await deployKubernetes({ ...k, progress: (l) => emit('deploy.progress', l) }, release);
    state.finishDeployment(id, true);
    const switched = result.clusters.filter((c) => c.action === 'create').length;
    emit('deploy.succeeded', `${release.name} serves ${env} (${switched ? `switched in ${result.switchMs} ms` : 'every cluster unchanged'})`);
    // `groups`: the clusters that got a new group, as a deploy on every runtime reports them.
    const groups = result.clusters.filter((c) => c.action === 'create').map(({ cluster, group, previous }) => ({ cluster, group, previous }));
    return { ...result, groups };
  } catch (e) {
    state.finishDeployment(id, false, (e as Error).message);
    throw e;
  }
}

export async function recordedKubeRollback(
  state: RuntimeState,
  k: KubeEnv,
  cluster: string | undefined,
  emitFor: (deployment: number) => Emit,
): Promise<{ deployment: number; steps: Array<{ cluster: string; from: string; to: string }> }> {
  const env = k.env;
  // The release rolled back to: the kept group's label (the first cluster that has one).
  const before = await kubernetesStatus(k);
  const kept = before.clusters.filter((c) => c.previous && (!cluster || c.cluster === cluster));
  const release = kept.flatMap((c) => c.groups).find((g) => g.state === 'kept')?.release || '?';
  const id = state.startDeployment(env, release, 'rollback');
  const emit = emitFor(id);
  try {
    const steps = await rollbackKubernetes({ ...k, progress: (l) => emit('rollback.progress', l) }, cluster);
    state.finishDeployment(id, true);
    for (const s of steps) emit('cluster.switched', `${s.cluster}: rolled back from ${s.from} to ${s.to}`);
    return { deployment: id, steps };
  } catch (e) {
    state.finishDeployment(id, false, (e as Error).message);
    throw e;
  }
}

/** Every object of the environment removed; the names of its groups (Deployments), for the caller's summary. */
export async function teardownKube(spec: ProjectSpec, kilnDir: string, env: string, emit: Emit): Promise<{ groups: string[] }> {
  return withKubeEnv(spec, env, kilnDir, (l) => emit('env.progress', l), async (k) => {
    const before = await kubernetesStatus(k);
    const groups = before.clusters.flatMap((c) => c.groups.map((g) => g.group));
    const removed = await downKubernetes(k);
    emit('env.down', `${env}: ${removed} object(s) removed from namespace ${k.settings.namespace}`);
    return { groups };
  });
}

/** `kiln status` of a Kubernetes environment in the shape every runtime's status has. */
export async function kubeStatus(state: RuntimeState, spec: ProjectSpec, kilnDir: string, env: string): Promise<StatusView> {
  return withKubeEnv(spec, env, kilnDir, () => undefined, async (k) => kubeStatusView(spec, await kubernetesStatus(k), state.lastDeployment(env) ?? null));
}

/** Refuses a digest other than the one promote tested (the store was changed in between). */
export function assertDigest(release: ReleaseRecord, digest: unknown): void {
  if (typeof digest === 'string' && digest !== release.digest) {
    throw new KilnError('PROMOTE_REFUSED', `${release.name} is ${release.digest}, not the tested ${digest}`, { hint: 'the store was changed; promote the release that was tested' });
  }
}
