// A Kubernetes environment's status (read from its namespace, status.ts) in the shape the
// control plane's status has on every runtime (server/status.ts), so a caller of GET /v1/status
// (`kiln rebuild --deploy` checking its side-by-side environment, scripts, the dashboard) reads
// one shape. Servers are pods: "healthy" is a ready pod, the rest say what the pod is doing.
import { clusterName, fqdn } from '../../names/names.js';
import type { ProjectSpec } from '../../spec/types.js';
import type { StatusCluster, StatusView } from '../../server/status.js';
import type { KubeStatus } from './status.js';

const GROUP_STATE = { active: 'active', kept: 'kept', other: 'other' } as const;

/** The service and role a cluster name was made from (names are not parsed: dashes are ambiguous). */
function serviceRoleOf(spec: ProjectSpec, env: string, cluster: string): { service: string; role: string } {
  for (const [service, svc] of Object.entries(spec.services)) {
    for (const role of Object.keys(svc.roles)) {
      try {
        if (clusterName(service, role, env) === cluster) return { service, role };
      } catch {
        // a name too long for this environment is no cluster of it
      }
    }
  }
  return { service: '?', role: '?' };
}

export function kubeStatusView(spec: ProjectSpec, s: KubeStatus, lastDeployment: StatusView['lastDeployment']): StatusView {
  const clusters = s.clusters.map((c): StatusCluster => {
    const { service, role } = serviceRoleOf(spec, s.env, c.cluster);
    // A worker has no Service: only roles with a port get a load balancer name.
    const hasPort = spec.services[service]?.roles[role]?.port !== undefined;
    return {
      name: c.cluster,
      env: s.env,
      service,
      role,
      host: hasPort ? fqdn(c.cluster, spec.domain) : null,
      url: hasPort ? `http://${c.cluster}.${s.namespace}.svc` : null,
      active: c.active,
      groups: c.groups.map((g) => {
        const build = Number(/-v(\d+)$/.exec(g.group)?.[1] ?? 0);
        return {
          name: g.group,
          build,
          release: g.release,
          state: GROUP_STATE[g.state],
          replicas: g.replicas,
          healthy: g.servers.filter((v) => v.state === 'ready').length,
          servers: g.servers.map((v) => ({
            name: v.name,
            state: v.state === 'ready' ? 'healthy' : v.state,
            pid: null,
            port: null,
            since: '',
            detail: v.ip ? `pod ip ${v.ip}${v.restarts ? `, ${v.restarts} restart(s)` : ''}` : null,
          })),
          failure: null,
        };
      }),
    };
  });
  return { project: spec.project, env: s.env, lastDeployment, clusters };
}
