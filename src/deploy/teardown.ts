// `kiln down`: destroys every server group of an environment (or of all of them). Routes go
// first, then the servers stop, so no request is sent to a server that is shutting down.
import type { DeployDeps, Emit } from './execute.js';
import { LIVE_GROUP_STATES } from '../store/runtime-state.js';

export async function teardown(deps: Pick<DeployDeps, 'state' | 'servers'> & { pushRoutes(): Promise<void> }, env: string | undefined, emit: Emit): Promise<{ groups: string[] }> {
  const { state } = deps;
  const clusters = state.clusters(env);
  const groups = clusters.flatMap((c) => state.groups({ cluster: c.name, states: LIVE_GROUP_STATES }));
  state.tx(() => {
    for (const c of clusters) state.setActive(c.name, null);
    for (const g of groups) state.setGroupState(g.name, 'destroyed');
  });
  await deps.pushRoutes();
  await Promise.all(
    groups.map(async (g) => {
      await Promise.all(state.servers({ group: g.name, states: ['starting', 'healthy', 'unhealthy'] }).map((s) => deps.servers.stop(s, 5_000)));
      emit('group.destroyed', `${g.name}: destroyed`, { cluster: g.cluster, subject: g.name });
    }),
  );
  return { groups: groups.map((g) => g.name) };
}
