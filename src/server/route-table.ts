// The route table is derived from state, never kept separately: every change to clusters,
// groups or servers is followed by computing the whole table again and sending it to the proxy.
import { fqdn } from '../names/names.js';
import type { RouteTable, ClusterRoute } from '../proxy/routes.js';
import { LIVE_GROUP_STATES, type RuntimeState } from '../store/runtime-state.js';

export function buildRouteTable(state: RuntimeState, domain: string, version: number): RouteTable {
  const clusters: ClusterRoute[] = state.clusters().map((c) => {
    const groups = state.groups({ cluster: c.name, states: LIVE_GROUP_STATES }).map((g) => ({
      name: g.name,
      hosts: [fqdn(g.name, domain), g.name],
      // Only servers that passed their health check take traffic.
      backends: state
        .servers({ group: g.name, states: ['healthy'] })
        .filter((s) => s.port !== null)
        .map((s) => ({ server: s.name, host: '127.0.0.1', port: s.port as number })),
    }));
    return {
      name: c.name,
      hosts: [fqdn(c.name, domain), c.name],
      ...(c.lb_port ? { port: c.lb_port } : {}),
      active: c.active_group,
      groups,
    };
  });
  return { version, clusters };
}
