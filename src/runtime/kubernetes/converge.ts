// What an interrupted deploy, rollback or down leaves on a Kubernetes environment is repaired by
// making the namespace match the cluster records (cluster-record.ts), which every operation
// writes before it moves traffic: so a record names only groups that were ready, and anything it
// does not name was never switched to. Per cluster:
//   - groups (Deployments) that are neither the active nor the kept one are deleted with their
//     preview Services (a group created by a deploy killed before its switch);
//   - an active group that is gone falls back to the kept one;
//   - the cluster Service selects the active group (a deploy killed between record and switch
//     finishes its switch, forward, never back), and is made if the first switch never happened;
//   - for a worker (no Service), only the active group runs: the kept one is scaled to zero;
//   - Secrets no Deployment mounts are deleted.
// Runs under the environment's lease (lease.ts), before each deploy, rollback and down, and from
// the control plane at start and periodically.
import type { ApiObject } from './client.js';
import { listRecords, updateRecord, type ClusterRecord } from './cluster-record.js';
import type { KubeEnv } from './environment.js';
import { deleteGroup, scaleGroup, selectGroup } from './groups.js';
import { clusterService, K8S_LABEL } from './manifests.js';
import type { Deployment, Service } from './objects.js';

interface DeploymentView extends ApiObject {
  spec: { replicas: number };
}

/** One line per repair made, for progress and the control plane's events; empty when all was in order. */
export async function convergeKubernetes(k: KubeEnv): Promise<string[]> {
  const labels = { [K8S_LABEL.project]: k.spec.project, [K8S_LABEL.env]: k.env };
  const [records, deployments, services] = await Promise.all([
    listRecords(k.client, k.spec.project, k.env),
    k.client.list<DeploymentView>('Deployment', labels),
    k.client.list<Service & ApiObject>('Service', labels),
  ]);
  const repairs: string[] = [];
  const byName = new Map(deployments.map((d) => [d.metadata.name, d]));
  const recorded = new Map(records.map((r) => [r.cluster, r]));
  const clusters = new Set([...recorded.keys(), ...deployments.map((d) => d.metadata.labels?.[K8S_LABEL.cluster] ?? '').filter(Boolean)]);

  for (const cluster of [...clusters].sort()) {
    let r: ClusterRecord = recorded.get(cluster) ?? { cluster, active: null, previous: null, nextBuild: 1 };
    const ids = { project: k.spec.project, env: k.env, cluster };
    const exists = (g: string | null): g is string => !!g && byName.has(g);
    if ((r.active && !exists(r.active)) || (r.previous && !exists(r.previous))) {
      const active = exists(r.active) ? r.active : exists(r.previous) ? r.previous : null;
      const previous = exists(r.previous) && r.previous !== active ? r.previous : null;
      r = await updateRecord(k.client, ids, (x) => ({ ...x, active, previous }));
      repairs.push(`${cluster}: record pointed at a group that is gone; active ${active ?? '-'}${previous ? `, kept ${previous}` : ''}`);
    }
    const keep = new Set([r.active, r.previous].filter((g): g is string => !!g));
    for (const d of deployments) {
      if (d.metadata.labels?.[K8S_LABEL.cluster] !== cluster || keep.has(d.metadata.name)) continue;
      await deleteGroup(k, d.metadata.name);
      repairs.push(`${cluster}: group ${d.metadata.name} was never switched to; deleted`);
    }
    if (!r.active) continue;

    const own = services.find((s) => s.metadata.name === cluster);
    const preview = services.find((s) => s.metadata.name === r.active);
    if (own) {
      if (own.spec.selector[K8S_LABEL.group] !== r.active) {
        await selectGroup(k, cluster, r.active);
        repairs.push(`${cluster}: switched to ${r.active}, as recorded`);
      }
    } else if (preview) {
      // A service cluster whose first switch was interrupted: its Service, from the group's preview.
      await k.client.apply(clusterService({ project: k.spec.project, env: k.env, cluster, group: r.active, portName: preview.spec.ports[0]!.name }, k.settings));
      repairs.push(`${cluster}: Service made, selecting ${r.active}`);
    } else {
      // A worker: the active group works, the kept one waits at zero for a rollback.
      const active = byName.get(r.active)!;
      if (active.spec.replicas === 0) {
        const replicas = Number(active.metadata.annotations?.['kiln.io/replicas'] ?? '1') || 1;
        await scaleGroup(k, r.active, replicas);
        repairs.push(`${cluster}: active worker group ${r.active} scaled back to ${replicas}`);
      }
      if (r.previous && byName.get(r.previous)!.spec.replicas > 0) {
        await scaleGroup(k, r.previous, 0);
        repairs.push(`${cluster}: kept worker group ${r.previous} stopped`);
      }
    }
  }
  const before = (await k.client.list('Secret', labels)).length;
  await pruneSecrets(k);
  const after = (await k.client.list('Secret', labels)).length;
  if (after < before) repairs.push(`${before - after} Secret(s) no group mounts deleted`);
  return repairs;
}

/** Secrets no remaining group mounts are deleted (the values stay in .kiln/secrets). */
export async function pruneSecrets(k: KubeEnv): Promise<void> {
  const labels = { [K8S_LABEL.project]: k.spec.project, [K8S_LABEL.env]: k.env };
  const used = new Set<string>();
  for (const d of await k.client.list<Deployment & ApiObject>('Deployment', labels)) {
    for (const v of d.spec.template.spec.volumes ?? []) if ('projected' in v) for (const s of v.projected.sources) used.add(s.secret.name);
  }
  for (const s of await k.client.list('Secret', labels)) if (!used.has(s.metadata.name)) await k.client.delete('Secret', s.metadata.name);
}

