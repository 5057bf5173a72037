// A cluster's load balancer on Kubernetes (deploy/load-balancer.ts): the Service named after the
// cluster, whose selector names the active group's label. A switch is one update of that field
// per cluster; kube-proxy then sends new connections to the ready pods of that group only. The
// first switch of a cluster makes its Service, from the group's preview Service (its port name).
import type { LoadBalancer, Want } from '../../deploy/load-balancer.js';
import type { KubeEnv } from './environment.js';
import { selectGroup } from './groups.js';
import { clusterService, K8S_LABEL } from './manifests.js';
import type { ApiObject } from './client.js';
import type { Service } from './objects.js';

export function serviceLoadBalancer(k: KubeEnv): LoadBalancer {
  return {
    name: 'the cluster Services',
    troubleshoot: `see \`kubectl -n ${k.settings.namespace} get services,endpointslices\``,
    async route(want: readonly Want[]) {
      for (const w of want) {
        if (w.group === null) await k.client.delete('Service', w.cluster);
        else if (!(await selectGroup(k, w.cluster, w.group))) {
          const preview = await k.client.get<Service & ApiObject>('Service', w.group);
          if (!preview) return { ok: false, detail: `${w.cluster} has no Service and ${w.group} no preview Service to make it from` };
          await k.client.apply(clusterService({ project: k.spec.project, env: k.env, cluster: w.cluster, group: w.group, portName: preview.spec.ports[0]!.name }, k.settings));
        }
      }
      // What the apiserver holds now is what kube-proxy follows: read back, compare.
      const wrong: string[] = [];
      for (const w of want) {
        const s = await k.client.get<Service & ApiObject>('Service', w.cluster);
        const selects = s ? (s.spec.selector[K8S_LABEL.group] ?? null) : null;
        if (selects !== w.group) wrong.push(`${w.cluster} selects ${selects ?? 'nothing'}, not ${w.group ?? 'nothing'}`);
      }
      return wrong.length ? { ok: false, detail: wrong.join('; ') } : { ok: true, attempts: 1 };
    },
    // kube-proxy keeps no count Kiln can read: a drain waits for the pods' own termination grace.
    inFlight: async () => null,
  };
}
