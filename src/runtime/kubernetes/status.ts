// `kiln status` and `kiln down` for a Kubernetes environment: read from (and remove from) the
// namespace itself, by Kiln's labels, so they need no local state and see what really runs.
import type { ApiObject, Kind } from './client.js';
import { listRecords } from './cluster-record.js';
import type { KubeEnv } from './environment.js';
import { K8S_LABEL } from './manifests.js';
import { podVerdict, type PodView } from './pods.js';

export interface KubeStatus {
  env: string;
  runtime: 'kubernetes';
  namespace: string;
  clusters: Array<{
    cluster: string;
    active: string | null;
    previous: string | null;
    groups: Array<{
      group: string;
      release: string;
      state: 'active' | 'kept' | 'other';
      replicas: number;
      servers: Array<{ name: string; state: string; ip: string | null; restarts: number }>;
    }>;
  }>;
}

export async function kubernetesStatus(k: KubeEnv): Promise<KubeStatus> {
  const labels = { [K8S_LABEL.project]: k.spec.project, [K8S_LABEL.env]: k.env };
  const [records, deployments, pods] = await Promise.all([
    listRecords(k.client, k.spec.project, k.env),
    k.client.list<ApiObject & { spec: { replicas: number } }>('Deployment', labels),
    k.client.list<PodView>('Pod', labels),
  ]);
  const clusters = records.map((r) => ({
    cluster: r.cluster,
    active: r.active,
    previous: r.previous,
    groups: deployments
      .filter((d) => d.metadata.labels?.[K8S_LABEL.cluster] === r.cluster)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map((d) => ({
        group: d.metadata.name,
        release: d.metadata.labels?.[K8S_LABEL.release] ?? '',
        state: (d.metadata.name === r.active ? 'active' : d.metadata.name === r.previous ? 'kept' : 'other') as 'active' | 'kept' | 'other',
        replicas: d.spec.replicas,
        servers: pods
          .filter((p) => p.metadata.labels?.[K8S_LABEL.group] === d.metadata.name)
          .map((p) => {
            const v = podVerdict(p);
            return {
              name: p.metadata.name,
              state: v.state === 'failed' ? `failed: ${v.reason}` : v.state,
              ip: p.status?.podIP ?? null,
              restarts: p.status?.containerStatuses?.[0]?.restartCount ?? 0,
            };
          })
          .sort((a, b) => a.name.localeCompare(b.name)),
      })),
  }));
  return { env: k.env, runtime: 'kubernetes', namespace: k.settings.namespace, clusters };
}

export function formatKubeStatus(s: KubeStatus): string {
  const lines = [`${s.env} (kubernetes, namespace ${s.namespace})`];
  if (!s.clusters.length) lines.push('  nothing deployed');
  for (const c of s.clusters) {
    lines.push(`  ${c.cluster}: active ${c.active ?? '-'}${c.previous ? `, kept ${c.previous}` : ''}`);
    for (const g of c.groups) {
      lines.push(`    ${g.group} (${g.release}) ${g.state}, ${g.replicas} replica(s)`);
      for (const v of g.servers) lines.push(`      ${v.name} ${v.state}${v.ip ? ` ${v.ip}` : ''}${v.restarts ? ` restarts ${v.restarts}` : ''}`);
    }
  }
  return lines.join('\n');
}

/** Every object Kiln made for the environment, gone (Deployments first, so no pod is left serving). */
export async function downKubernetes(k: KubeEnv): Promise<number> {
  const labels = { [K8S_LABEL.project]: k.spec.project, [K8S_LABEL.env]: k.env };
  let n = 0;
  for (const kind of ['Deployment', 'Service', 'Secret', 'ConfigMap'] as Kind[]) {
    for (const o of await k.client.list(kind, labels)) {
      await k.client.delete(kind, o.metadata.name);
      n++;
    }
  }
  return n;
}
