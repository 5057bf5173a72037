// What becomes of a cluster's previous group after a switch. With a load balancer it drains and is
// kept 'disabled', still running, so a rollback is one route change. Without one (a worker role)
// there is no route to take away: a kept group that kept running would go on consuming work beside
// the new one (two versions of a worker at once). So it is kept 'stopped': a record of what ran,
// with no servers; a rollback starts new servers for it (new names, same group) before the switch.
import type { GroupRow, RuntimeState } from '../store/runtime-state.js';
import type { ServerManager } from '../server/server-manager.js';

export type KeptState = 'draining' | 'stopped';

/** How the group is kept when it stops being active: routed groups drain, the others stop. */
export function keptStateOf(state: RuntimeState, group: GroupRow): KeptState {
  const lb = state.cluster(group.cluster)?.lb_port ?? null;
  return lb !== null && group.template.portName !== undefined ? 'draining' : 'stopped';
}

/** Stops the servers still running in a kept 'stopped' group (graceful: a worker finishes its unit of work). */
export async function stopKeptGroup(state: RuntimeState, servers: ServerManager, group: string, graceMs = 10_000): Promise<number> {
  const live = state.servers({ group, states: ['starting', 'healthy', 'unhealthy'] });
  await Promise.all(live.map((s) => servers.stop(s, graceMs)));
  return live.length;
}

/**
 * After a control-plane restart: a kept group that must not run (its switch or rollback was
 * interrupted before its servers stopped, or it was kept 'disabled' by an older Kiln) is made
 * 'stopped' and its servers stop. Returns the groups it stopped servers of.
 */
export async function stopIdleKeptGroups(state: RuntimeState, servers: ServerManager): Promise<string[]> {
  const out: string[] = [];
  for (const g of state.groups({ states: ['draining', 'disabled', 'stopped'] })) {
    if (state.cluster(g.cluster)?.active_group === g.name || keptStateOf(state, g) !== 'stopped') continue;
    if (g.state !== 'stopped') state.setGroupState(g.name, 'stopped');
    if ((await stopKeptGroup(state, servers, g.name, 5_000)) > 0) out.push(g.name);
  }
  return out;
}
