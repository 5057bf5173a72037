// Rollback: re-enable the group kept disabled after the last switch, in one route-table update.
// Its servers never stopped, so rollback is instant; the group it replaces is drained and kept
// in turn, so rolling forward again is instant too.
import { KilnError } from '../errors.js';
import type { Emit, DeployDeps } from './execute.js';
import { drainGroup } from './execute.js';

export interface RollbackStep {
  cluster: string;
  from: string;
  to: string;
}

export function planRollback(deps: DeployDeps, env: string, cluster?: string): RollbackStep[] {
  // Without a cluster named: the clusters the last switch moved (a deploy keeps unchanged
  // clusters on their group, and rolling those back would go further back than that deploy).
  const lastSwitched = cluster ? null : deps.state.lastSwitchedClusters(env);
  const clusters = deps.state.clusters(env).filter((c) => (cluster ? c.name === cluster : !lastSwitched || lastSwitched.includes(c.name)));
  if (cluster && !clusters.length) {
    throw new KilnError('CLUSTER_NOT_FOUND', `cluster "${cluster}" does not exist in environment ${env}`, {
      hint: `clusters: ${deps.state.clusters(env).map((c) => c.name).join(', ') || 'none (nothing deployed yet)'}`,
    });
  }
  const steps: RollbackStep[] = [];
  const missing: string[] = [];
  for (const c of clusters) {
    if (!c.active_group) continue;
    const kept = deps.state.groups({ cluster: c.name, states: ['disabled'] }).at(-1);
    const healthy = kept ? deps.state.servers({ group: kept.name, states: ['healthy'] }).length : 0;
    if (!kept || healthy === 0) {
      missing.push(c.name);
      continue;
    }
    steps.push({ cluster: c.name, from: c.active_group, to: kept.name });
  }
  if (missing.length || !steps.length) {
    throw new KilnError(
      'NOTHING_TO_ROLL_BACK',
      missing.length
        ? `no kept group with healthy servers to roll back to for ${missing.join(', ')}`
        : `nothing is deployed in environment ${env}`,
      { hint: 'deploy the previous release instead: kiln deploy <release> --env ' + env },
    );
  }
  return steps;
}

export async function executeRollback(deps: DeployDeps, steps: RollbackStep[], emit: Emit): Promise<void> {
  deps.state.tx(() => {
    for (const s of steps) {
      deps.state.setActive(s.cluster, s.to);
      deps.state.setGroupState(s.to, 'active');
      deps.state.setGroupState(s.from, 'draining');
    }
  });
  await deps.pushRoutes();
  for (const s of steps) emit('cluster.switched', `${s.cluster}: ${s.from} -> ${s.to} (rollback)`, { cluster: s.cluster, subject: s.to });
  await Promise.all(
    steps.map(async (s) => {
      await drainGroup(deps, s.from);
      emit('group.disabled', `${s.from}: drained, kept disabled (roll forward with kiln rollback again)`, { cluster: s.cluster, subject: s.from });
    }),
  );
}
