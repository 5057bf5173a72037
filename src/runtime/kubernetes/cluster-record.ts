// Where a Kubernetes environment's deploy state lives: in the cluster itself, one ConfigMap per
// Kiln cluster (`kiln-cluster-<cluster>`) holding its active and previous group and its next build
// number. So a restarted control plane, another checkout or `kiln status` finds the truth by
// reading the namespace, and updates are guarded by resourceVersion (two deploys cannot both win).
import { KilnError } from '../../errors.js';
import type { ApiObject, KubeClient } from './client.js';
import { K8S_LABEL } from './manifests.js';

export interface ClusterRecord {
  cluster: string;
  active: string | null;
  previous: string | null;
  nextBuild: number;
}

interface ConfigMap extends ApiObject {
  data?: Record<string, string>;
}

export const recordName = (cluster: string): string => `kiln-cluster-${cluster}`;

function fromMap(cluster: string, m: ConfigMap | null): ClusterRecord {
  const d = m?.data ?? {};
  return { cluster, active: d['active'] || null, previous: d['previous'] || null, nextBuild: Number(d['nextBuild'] ?? '1') || 1 };
}

export async function readRecord(client: KubeClient, cluster: string): Promise<ClusterRecord> {
  return fromMap(cluster, await client.get<ConfigMap>('ConfigMap', recordName(cluster)));
}

export async function listRecords(client: KubeClient, project: string, env: string): Promise<ClusterRecord[]> {
  const maps = await client.list<ConfigMap>('ConfigMap', { [K8S_LABEL.project]: project, [K8S_LABEL.env]: env });
  return maps
    .filter((m) => m.metadata.name.startsWith('kiln-cluster-'))
    .map((m) => fromMap(m.metadata.name.slice('kiln-cluster-'.length), m))
    .sort((a, b) => a.cluster.localeCompare(b.cluster));
}

/**
 * Read-modify-write of one record, retried on a conflicting update. `change` returns the new
 * record (or the same one for no change).
 */
export async function updateRecord(
  client: KubeClient,
  ids: { project: string; env: string; cluster: string },
  change: (r: ClusterRecord) => ClusterRecord,
): Promise<ClusterRecord> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await client.get<ConfigMap>('ConfigMap', recordName(ids.cluster));
    const next = change(fromMap(ids.cluster, current));
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: recordName(ids.cluster),
        namespace: client.namespace,
        labels: { [K8S_LABEL.managedBy]: 'kiln', [K8S_LABEL.project]: ids.project, [K8S_LABEL.env]: ids.env, [K8S_LABEL.cluster]: ids.cluster },
        ...(current?.metadata.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
      },
      data: { active: next.active ?? '', previous: next.previous ?? '', nextBuild: String(next.nextBuild) },
    };
    const ok = current ? await client.replace(body) : await client.create(body);
    if (ok) return next;
  }
  throw new KilnError('DEPLOY_IN_PROGRESS', `cluster ${ids.cluster}: its record kept changing under this deploy`, { hint: 'another deploy is running on this environment; wait for it' });
}
