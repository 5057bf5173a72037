// The route table is derived from state, never kept separately: every change to clusters,
// groups or servers is followed by computing the whole table again and sending it to the proxy.
import { fqdn } from '../names/names.js';
import type { Backend, CanaryRoute, RouteTable, ClusterRoute } from '../proxy/routes.js';
import { LIVE_GROUP_STATES, type RuntimeState } from '../store/runtime-state.js';
import { TrafficModes } from '../store/traffic-modes.js';

/** The states of a group kept for instant rollback (see deploy/execute.ts and crash-loop-action.ts). */
const KEPT_GROUP_STATES = ['disabled', 'draining'] as const;

/**
 * `trustedProxies`: kiln.yaml's `proxy.trusted-proxies`, passed to the proxy with the routes.
 * `canaries`: the canaries in progress per cluster (store/canaries.ts), their group and weight.
 */
export function buildRouteTable(
  state: RuntimeState,
  domain: string,
  version: number,
  trustedProxies: readonly string[] = [],
  canaries: Readonly<Record<string, CanaryRoute>> = {},
): RouteTable {
  const backendsOf = (group: string): Backend[] =>
    // Only servers that passed their health check take traffic.
    state
      .servers({ group, states: ['healthy'] })
      .filter((s) => s.port !== null)
      .map((s) => ({ server: s.name, host: '127.0.0.1', port: s.port as number }));
  // kiln pause / kiln maintenance: the proxy holds or answers a cluster's requests itself.
  const modes = new TrafficModes(state.db).all();
  const clusters: ClusterRoute[] = state
    .clusters()
    // A worker role has no port and no load balancer: nothing to route to, no host to claim.
    .filter((c) => Boolean(c.lb_port))
    .map((c) => {
      const groups = state.groups({ cluster: c.name, states: LIVE_GROUP_STATES }).map((g) => ({
        name: g.name,
        hosts: [fqdn(g.name, domain), g.name],
        backends: backendsOf(g.name),
      }));
      // The newest kept group with a healthy server: the one an automatic rollback would pick.
      // The proxy sends a request there only when no server of the active group accepts it, so
      // the seconds between a crash-looping group's last death and its rollback fail nothing.
      const kept = state.groups({ cluster: c.name, states: KEPT_GROUP_STATES }).map((g) => g.name);
      const fallback = groups.filter((g) => g.name !== c.active_group && kept.includes(g.name) && g.backends.length > 0).at(-1);
      const mode = modes.get(c.name);
      // A canary is routed only while its group is live and another group is active to split with.
      const canary = canaries[c.name];
      const split = canary && c.active_group && canary.group !== c.active_group && groups.some((g) => g.name === canary.group) ? canary : undefined;
      return {
        name: c.name,
        hosts: [fqdn(c.name, domain), c.name],
        ...(c.lb_port ? { port: c.lb_port } : {}),
        active: c.active_group,
        ...(c.active_group && fallback ? { fallback: fallback.name } : {}),
        ...(split ? { canary: { group: split.group, weight: split.weight } } : {}),
        groups,
        ...(mode?.pausedUntil != null ? { hold: { until: mode.pausedUntil } } : {}),
        ...(mode?.maintenance ? { maintenance: mode.maintenance } : {}),
      };
    });
  return { version, clusters, ...(trustedProxies.length > 0 ? { trustedProxies: [...trustedProxies] } : {}) };
}
