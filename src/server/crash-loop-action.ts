// What the control plane does with a group that crash-loops (see crash-loop.ts for the numbers).
// An active group with a kept previous group is rolled back automatically, like `kiln rollback
// <cluster>`: the kept group takes the route in one route-table update, then the failed group's
// servers are stopped gracefully (new requests already go elsewhere, in-flight ones finish).
// An active group with nothing to roll back to stays active — stopping it would serve nothing —
// and keeps being restarted with capped backoff; the event says what to do. A kept (disabled or
// draining) group that crash-loops is marked failed and stopped: it could not take traffic back.
import type { DeployDeps, Emit } from '../deploy/execute.js';
import { drainGroup } from '../deploy/execute.js';
import { CRASH_LOOP_DEFAULTS } from './crash-loop.js';
import type { GroupRow } from '../store/runtime-state.js';

export type CrashLoopOutcome = 'rolled-back' | 'failed' | 'kept-active' | 'gone';

export interface CrashLoopDeps extends DeployDeps {
  /** Events of the automatic rollback, recorded under `deployment` when there is one. */
  emitter(deployment: number | null): Emit;
}

export async function handleCrashLoop(deps: CrashLoopDeps, name: string, why: string): Promise<CrashLoopOutcome> {
  const { state } = deps;
  const g = state.group(name);
  if (!g || !['active', 'draining', 'disabled'].includes(g.state)) return 'gone';
  const cluster = state.cluster(g.cluster);
  const env = g.template.env;
  if (cluster?.active_group !== g.name) {
    state.setGroupState(g.name, 'failed');
    await deps.lb.route([]);
    deps.emitter(null)('group.failed', `${g.name}: crash loop (${why}); it was kept for rollback and is now stopped`, { cluster: g.cluster, subject: g.name });
    await stopServers(deps, g);
    return 'failed';
  }
  const kept = state
    .groups({ cluster: g.cluster, states: ['disabled', 'draining'] })
    .filter((k) => state.servers({ group: k.name, states: ['healthy'] }).length > 0)
    .at(-1);
  if (!kept) {
    deps.emitter(null)(
      'group.crash-loop',
      `${g.name}: crash loop (${why}); no kept group to roll back to, so it stays active and is restarted with backoff (at most every ${Math.round((g.template.health?.crashLoop ?? CRASH_LOOP_DEFAULTS).maxBackoffMs / 1000)} s); deploy a fixed release: kiln deploy <release> --env ${env}`,
      { cluster: g.cluster, subject: g.name },
    );
    return 'kept-active';
  }
  const id = state.startDeployment(env, kept.release, 'rollback', 'control plane: crash loop');
  const emit = deps.emitter(id);
  try {
    state.tx(() => {
      state.setActive(g.cluster, kept.name);
      state.setGroupState(kept.name, 'active');
      state.setGroupState(g.name, 'failed');
    });
    const routed = await deps.lb.route([{ cluster: g.cluster, group: kept.name }]);
    if (!routed.ok) throw new Error(`${deps.lb.name} did not route ${kept.name}: ${routed.detail}`);
    emit('cluster.switched', `${g.cluster}: ${g.name} -> ${kept.name} (automatic rollback: ${g.name} crash-loops)`, { cluster: g.cluster, subject: kept.name });
    emit(
      'group.failed',
      `${g.name}: crash loop (${why}); rolled back to ${kept.name} (${kept.release}); fix ${g.release}, release and deploy again (kiln logs --env ${env} shows why it died)`,
      { cluster: g.cluster, subject: g.name },
    );
    state.finishDeployment(id, true);
  } catch (e) {
    state.finishDeployment(id, false, (e as Error).message);
    throw e;
  }
  await stopServers(deps, g);
  return 'rolled-back';
}

/** Out of the route table already: waits for in-flight requests, then stops with a grace period. */
async function stopServers(deps: CrashLoopDeps, g: GroupRow): Promise<void> {
  // drainGroup only changes a 'draining' group's state; this one is 'failed', so it just waits.
  await drainGroup(deps, g.name);
  const live = deps.state.servers({ group: g.name, states: ['starting', 'healthy', 'unhealthy'] });
  await Promise.all(live.map((s) => deps.servers.stop(s, 10_000)));
}
