// Operations on server groups and cluster Services of a Kubernetes environment: list a
// cluster's groups, wait until groups are ready (or say which pod failed and why, with its log),
// switch a Service's selector, scale, delete. Used by deploy, rollback and down.
import { KilnError } from '../../errors.js';
import type { ApiObject } from './client.js';
import type { KubeEnv } from './environment.js';
import { K8S_LABEL } from './manifests.js';
import { podVerdict, type PodView } from './pods.js';

/** The groups (Deployments) of one cluster, by name. */
export async function groupsOf(k: KubeEnv, cluster: string): Promise<string[]> {
  const ds = await k.client.list('Deployment', { [K8S_LABEL.project]: k.spec.project, [K8S_LABEL.env]: k.env, [K8S_LABEL.cluster]: cluster });
  return ds.map((d) => d.metadata.name).sort();
}

export async function podsOf(k: KubeEnv, group: string): Promise<PodView[]> {
  return k.client.list<PodView>('Pod', { [K8S_LABEL.project]: k.spec.project, [K8S_LABEL.env]: k.env, [K8S_LABEL.group]: group });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves when every group has `replicas` ready pods and no failed one; a failed pod (restart,
 * cannot start) or the deadline rejects with DEPLOY_FAILED naming the pod and its log tail.
 */
export async function waitGroupsReady(k: KubeEnv, groups: Array<{ group: string; replicas: number }>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(groups.map((g) => g.group));
  for (;;) {
    for (const g of groups) {
      if (!pending.has(g.group)) continue;
      // A pod being deleted is on its way out (a recycled kept group, recyclePods): its
      // Deployment has made its replacement, which is what is waited for.
      const pods = (await podsOf(k, g.group)).filter((p) => !p.metadata.deletionTimestamp);
      let ready = 0;
      for (const p of pods) {
        const v = podVerdict(p);
        if (v.state === 'failed') {
          const log = await k.client.podLog(p.metadata.name, 20, v.restarted);
          throw new KilnError('DEPLOY_FAILED', `server ${p.metadata.name} of group ${g.group} failed: ${v.reason}`, {
            hint: 'no traffic reached the new groups; they are being deleted',
            details: log ? ['last lines of its output:', ...log.trimEnd().split('\n').slice(-20).map((l) => `  ${l}`)] : [],
          });
        }
        if (v.state === 'ready') ready++;
      }
      if (ready >= g.replicas) pending.delete(g.group);
    }
    if (!pending.size) return;
    if (Date.now() > deadline) {
      const g = [...pending][0]!;
      const pods = (await podsOf(k, g)).filter((p) => !p.metadata.deletionTimestamp);
      const starting = pods.find((p) => podVerdict(p).state !== 'ready');
      const log = starting ? await k.client.podLog(starting.metadata.name, 20) : '';
      throw new KilnError('DEPLOY_FAILED', `group ${g} did not get ready in ${Math.round(timeoutMs / 1000)} s${starting ? `: server ${starting.metadata.name} never passed its readiness check` : ''}`, {
        hint: 'no traffic reached the new groups; they are being deleted',
        details: log ? ['last lines of its output:', ...log.trimEnd().split('\n').slice(-20).map((l) => `  ${l}`)] : [],
      });
    }
    await sleep(250);
  }
}

/** Points an existing cluster Service at `group` (one update of one field); false if there is no Service. */
export async function selectGroup(k: KubeEnv, cluster: string, group: string): Promise<boolean> {
  return (await k.client.mergePatch('Service', cluster, { spec: { selector: { [K8S_LABEL.group]: group } } })) !== null;
}

/**
 * How long a switched Service is given to reach every node's rules (kube-proxy) before the pods
 * it stopped selecting are recycled: until then a new connection can still land on them.
 * Measured on the test node: 41 ms from the update to the first answer of the new group.
 */
export const SWITCH_SETTLE_MS = 2000;

/**
 * Replaces the pods of a group a cluster Service no longer selects by new ones (its Deployment
 * makes them at once; no Service selects them but the group's preview). A Service switches at
 * L4: a connection opened before the switch stays with its pod, so a keep-alive client (another
 * service's pool, a proxy in front) would go on talking to the kept group for as long as it
 * keeps the connection. Deleted, each pod gets SIGTERM and its grace period: it answers what is
 * in flight and closes its connections, whose clients reconnect through the Service to the new
 * group. The kept group stays warm for a rollback, which waits for its pods' readiness.
 */
export async function recyclePods(k: KubeEnv, group: string): Promise<number> {
  const pods = (await podsOf(k, group)).filter((p) => !p.metadata.deletionTimestamp);
  for (const p of pods) await k.client.delete('Pod', p.metadata.name);
  return pods.length;
}

/** Scales a group; the replica count it had is kept in an annotation so a rollback restores it. */
export async function scaleGroup(k: KubeEnv, group: string, replicas: number): Promise<void> {
  const d = await k.client.get<ApiObject & { spec: { replicas: number } }>('Deployment', group);
  if (!d) return;
  const keep = replicas === 0 && d.spec.replicas > 0 ? { metadata: { annotations: { 'kiln.io/replicas': String(d.spec.replicas) } } } : {};
  await k.client.mergePatch('Deployment', group, { ...keep, spec: { replicas } });
}

/** A group's Deployment (its pods with it) and its preview Service. */
export async function deleteGroup(k: KubeEnv, group: string): Promise<void> {
  await k.client.delete('Deployment', group);
  await k.client.delete('Service', group);
}
