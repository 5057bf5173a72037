// The CLI verbs on a Kubernetes environment. The cluster holds that environment's state (its
// objects and their labels), so deploy, status, rollback and down work on it directly from the
// CLI, with no control plane in between; process and podman environments go through the
// control plane as before. Loaded only for an environment on Kubernetes (kubernetes.ts).
import type { CommandContext } from './command.js';
import type { ProjectSpec } from '../spec/types.js';
import { openStore } from '../store/init.js';
import { RuntimeState } from '../store/runtime-state.js';
import type { Emit } from '../deploy/execute.js';
import { kubeDryRun, recordedKubeDeploy, recordedKubeRollback } from '../server/kube-ops.js';
import { getRelease } from '../release/index.js';
import { openKubeEnv, type KubeEnv } from '../runtime/kubernetes/environment.js';
import { downKubernetes, formatKubeStatus, kubernetesStatus } from '../runtime/kubernetes/status.js';

/** The Kubernetes environment `env` of `spec` (kiln.yaml's and the created ones), opened for work. */
function kubeEnvFor(ctx: CommandContext, spec: ProjectSpec, env: string): KubeEnv {
  const kilnDir = openStore(spec.dir);
  kilnDir.db.close();
  return openKubeEnv(spec, env, kilnDir.kilnDir, (l) => ctx.progress(`  ${l}`));
}

async function withKube(ctx: CommandContext, spec: ProjectSpec, env: string, fn: (k: KubeEnv) => Promise<number>): Promise<number> {
  const k = kubeEnvFor(ctx, spec, env);
  try {
    return await fn(k);
  } finally {
    k.client.close();
  }
}

/**
 * Runs a deploy or rollback with its row in state.db's deployments (the history `kiln promote`
 * checks), printing its progress lines.
 */
async function withHistory<T>(k: KubeEnv, fn: (state: RuntimeState, emit: Emit) => Promise<T>): Promise<T> {
  const store = openStore(k.spec.dir);
  try {
    return await fn(new RuntimeState(store.db), (kind, message) => {
      if (kind.endsWith('.progress')) k.progress(message);
    });
  } finally {
    store.db.close();
  }
}

export function kubeDeploy(ctx: CommandContext, spec: ProjectSpec, env: string, releaseName: string, dryRun: boolean): Promise<number> {
  return withKube(ctx, spec, env, async (k) => {
    const store = openStore(k.spec.dir);
    let release;
    try {
      release = getRelease(store.db, store.oci, releaseName);
    } finally {
      store.db.close();
    }
    if (dryRun) {
      const view = await kubeDryRun(k, release);
      if (ctx.json) ctx.outJson(view);
      else ctx.out(view.text);
      return 0;
    }
    const result = await withHistory(k, (state, emit) => recordedKubeDeploy(state, k, release, () => emit));
    if (ctx.json) ctx.outJson(result);
    else ctx.out(`deployed ${result.release} to ${env}${result.clusters.every((c) => c.action === 'unchanged') ? ' (every cluster unchanged)' : ` (switched in ${result.switchMs} ms)`}`);
    return 0;
  });
}

export function kubeStatus(ctx: CommandContext, spec: ProjectSpec, env: string): Promise<number> {
  return withKube(ctx, spec, env, async (k) => {
    const s = await kubernetesStatus(k);
    if (ctx.json) ctx.outJson(s);
    else ctx.out(formatKubeStatus(s));
    return 0;
  });
}

export function kubeRollback(ctx: CommandContext, spec: ProjectSpec, env: string, cluster: string | undefined): Promise<number> {
  return withKube(ctx, spec, env, async (k) => {
    const { steps } = await withHistory(k, (state, emit) => recordedKubeRollback(state, k, cluster, () => emit));
    if (ctx.json) ctx.outJson({ env, steps });
    else ctx.out(steps.map((s) => `${s.cluster}: ${s.from} -> ${s.to}`).join('\n'));
    return 0;
  });
}

export function kubeDown(ctx: CommandContext, spec: ProjectSpec, env: string): Promise<number> {
  return withKube(ctx, spec, env, async (k) => {
    const removed = await downKubernetes(k);
    if (ctx.json) ctx.outJson({ env, removed });
    else ctx.out(`${env} is down (${removed} object(s) removed from ${k.settings.namespace})`);
    return 0;
  });
}
