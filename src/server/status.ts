// What `kiln status` shows: per environment, each cluster with its load balancer, its groups
// (active / draining / disabled) and their servers with health. Derived from state only.
import { fqdn } from '../names/names.js';
import type { ProjectSpec } from '../spec/types.js';
import { LIVE_GROUP_STATES, type RuntimeState } from '../store/runtime-state.js';

export interface StatusServer {
  name: string;
  state: string;
  pid: number | null;
  port: number | null;
  since: string;
  detail: string | null;
}
export interface StatusGroup {
  name: string;
  build: number;
  release: string;
  state: string;
  replicas: number;
  healthy: number;
  servers: StatusServer[];
}
export interface StatusCluster {
  name: string;
  env: string;
  service: string;
  role: string;
  host: string;
  url: string | null;
  active: string | null;
  groups: StatusGroup[];
}
export interface StatusView {
  project: string;
  env: string | null;
  lastDeployment: { id: number; release: string; state: string; kind: string } | null;
  clusters: StatusCluster[];
}

export function statusView(state: RuntimeState, spec: ProjectSpec, env?: string): StatusView {
  const clusters = state.clusters(env).map((c): StatusCluster => ({
    name: c.name,
    env: c.env,
    service: c.service,
    role: c.role,
    host: fqdn(c.name, spec.domain),
    url: c.lb_port ? `http://${spec.proxy.host}:${c.lb_port}` : null,
    active: c.active_group,
    groups: state.groups({ cluster: c.name, states: LIVE_GROUP_STATES }).map((g) => {
      const servers = state
        .servers({ group: g.name, states: ['starting', 'healthy', 'unhealthy'] })
        .map((s) => ({ name: s.name, state: s.state, pid: s.pid, port: s.port, since: s.changed_at, detail: s.detail }));
      return {
        name: g.name,
        build: g.build,
        release: g.release,
        state: g.state,
        replicas: g.replicas,
        healthy: servers.filter((s) => s.state === 'healthy').length,
        servers,
      };
    }),
  }));
  return { project: spec.project, env: env ?? null, lastDeployment: env ? (state.lastDeployment(env) ?? null) : null, clusters };
}

export function formatStatus(v: StatusView): string {
  if (!v.clusters.length) return `nothing deployed${v.env ? ` in ${v.env}` : ''} yet`;
  const lines: string[] = [];
  if (v.lastDeployment) {
    const d = v.lastDeployment;
    lines.push(`${v.env}: last ${d.kind} ${d.release} ${d.state}`);
  }
  for (const c of v.clusters) {
    lines.push(`${c.name}  ${c.host}${c.url ? `  ${c.url}` : ''}  active: ${c.active ?? '-'}`);
    for (const g of c.groups) {
      lines.push(`  ${g.name}  ${g.release}  ${g.state.padEnd(8)}  ${g.healthy}/${g.replicas} healthy`);
      for (const s of g.servers) lines.push(`    ${s.name}  ${s.state.padEnd(9)} pid ${s.pid ?? '-'}${s.port ? `  port ${s.port}` : ''}`);
    }
  }
  return lines.join('\n');
}
