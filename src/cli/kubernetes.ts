// The CLI verbs on a Kubernetes environment. The cluster holds that environment's state (its
// objects and their labels), so deploy, status, rollback and down work on it directly from the
// CLI, with no control plane in between; process and podman environments go through the
// control plane as before.
import type { CommandContext } from './command.js';
import { loadProjectSpec } from '../env/project-spec.js';
import { openStore } from '../store/init.js';
import { RuntimeState } from '../store/runtime-state.js';
import type { Emit } from '../deploy/execute.js';
import { kubeDryRun, recordedKubeDeploy, recordedKubeRollback } from '../server/kube-ops.js';
import { getRelease } from '../release/index.js';
import { isKubernetesEnv, openKubeEnv, type KubeEnv } from '../runtime/kubernetes/environment.js';
import { downKubernetes, formatKubeStatus, kubernetesStatus } from '../runtime/kubernetes/status.js';

/** The environment opened for work when it runs on Kubernetes, else null (the caller goes on as before). */
function kubeEnvFor(ctx: CommandContext, env: string | undefined): KubeEnv | null {
  if (!env) return null;
  let spec;
  try {
    spec = loadProjectSpec(ctx.cwd); // kiln.yaml's environments and the ones made by kiln env create
  } catch {
    return null; // the usual path reports a bad or missing kiln.yaml with its own message
  }
  if (!isKubernetesEnv(spec, env)) return null;
  const kilnDir = openStore(spec.dir);
  kilnDir.db.close();
  return openKubeEnv(spec, env, kilnDir.kilnDir, (l) => ctx.progress(`  ${l}`));
}

async function withKube(ctx: CommandContext, env: string | undefined, fn: (k: KubeEnv) => Promise<number>): Promise<number | null> {
  const k = kubeEnvFor(ctx, env);
  if (!k) return null;
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

export function kubeDeploy(ctx: CommandContext, env: string, releaseName: string, dryRun: boolean): Promise<number | null> {
  return withKube(ctx, env, async (k) => {
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

export function kubeStatus(ctx: CommandContext, env: string | undefined): Promise<number | null> {
  return withKube(ctx, env, async (k) => {
    const s = await kubernetesStatus(k);
    if (ctx.json) ctx.outJson(s);
    else ctx.out(formatKubeStatus(s));
    return 0;
  });
}

export function kubeRollback(ctx: CommandContext, env: string, cluster: string | undefined): Promise<number | null> {
  return withKube(ctx, env, async (k) => {
    const { steps } = await withHistory(k, (state, emit) => recordedKubeRollback(state, k, cluster, () => emit));
    if (ctx.json) ctx.outJson({ env, steps });
    else ctx.out(steps.map((s) => `${s.cluster}: ${s.from} -> ${s.to}`).join('\n'));
    return 0;
  });
}

export function kubeDown(ctx: CommandContext, env: string | undefined): Promise<number | null> {
  return withKube(ctx, env, async (k) => {
    const removed = await downKubernetes(k);
    if (ctx.json) ctx.outJson({ env, removed });
    else ctx.out(`${env} is down (${removed} object(s) removed from ${k.settings.namespace})`);
    return 0;
  });
}
