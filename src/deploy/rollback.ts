// Rollback: re-enable the group kept after the last switch, in one route-table update. A kept
// group with a load balancer never stopped its servers, so that rollback is instant; the group it
// replaces is drained and kept in turn, so rolling forward again is instant too. A kept worker
// group runs nothing (kept.ts): it gets new servers (new names, same group), healthy before the
// switch, and the worker group it replaces is stopped and kept the same way.
import { KilnError } from '../errors.js';
import type { GroupRow } from '../store/runtime-state.js';
import type { Emit, DeployDeps } from './execute.js';
import { drainGroup, routedClusters } from './execute.js';
import { keptStateOf, stopKeptGroup } from './kept.js';
import { startServers } from './start-servers.js';

export interface RollbackStep {
  cluster: string;
  from: string;
  to: string;
  /** New servers `to` gets before the switch (a kept 'stopped' group runs none); 0 for a disabled one. */
  start: number;
}

export function planRollback(deps: Pick<DeployDeps, 'state'>, env: string, cluster?: string): RollbackStep[] {
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
    const kept = deps.state.groups({ cluster: c.name, states: ['disabled', 'stopped'] }).at(-1);
    const healthy = kept ? deps.state.servers({ group: kept.name, states: ['healthy'] }).length : 0;
    if (!kept || (kept.state === 'disabled' && healthy === 0)) {
      missing.push(c.name);
      continue;
    }
    steps.push({ cluster: c.name, from: c.active_group, to: kept.name, start: kept.state === 'stopped' ? kept.replicas : 0 });
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
  const { state, servers } = deps;
  // Kept groups that run nothing get their servers first; the first failure leaves everything as it was.
  const starting = steps.filter((s) => s.start > 0).map((s) => state.group(s.to) as GroupRow);
  for (const g of starting) emit('group.starting', `${g.name}: starting ${g.replicas} new server(s) to roll back to`, { cluster: g.cluster, subject: g.name });
  const { failure } = await startServers(deps, starting, emit);
  if (failure) {
    for (const g of starting) await stopKeptGroup(state, servers, g.name, 2_000);
    throw new KilnError('DEPLOY_FAILED', `rollback to ${failure.group.name} failed: server ${failure.server.name} ${failure.detail}`, {
      hint: 'nothing was switched; deploy the previous release instead: kiln deploy <release> --env ' + failure.group.template.env,
      details: servers.tail(failure.server, failure.group),
    });
  }
  const kept = new Map(steps.map((s) => [s.from, keptStateOf(state, state.group(s.from) as GroupRow)]));
  const undo = new Map(steps.map((s) => [s.to, (state.group(s.to) as GroupRow).state]));
  state.tx(() => {
    for (const s of steps) {
      state.setActive(s.cluster, s.to);
      state.setGroupState(s.to, 'active');
      state.setGroupState(s.from, kept.get(s.from) ?? 'draining');
    }
  });
  const routed = await deps.lb.route(routedClusters(state, steps.map((s) => ({ cluster: s.cluster, group: s.to }))));
  if (!routed.ok) {
    state.tx(() => {
      for (const s of steps) {
        state.setActive(s.cluster, s.from);
        state.setGroupState(s.from, 'active');
        state.setGroupState(s.to, undo.get(s.to) ?? 'disabled');
      }
    });
    await deps.lb.route([], { timeoutMs: 0 });
    for (const g of starting) await stopKeptGroup(state, servers, g.name, 2_000);
    throw new KilnError('DEPLOY_FAILED', `rollback failed: ${deps.lb.name} did not route the kept groups (${routed.detail})`, {
      hint: `the groups that were active are active again; ${deps.lb.troubleshoot}, then roll back again`,
    });
  }
  for (const s of steps) emit('cluster.switched', `${s.cluster}: ${s.from} -> ${s.to} (rollback)`, { cluster: s.cluster, subject: s.to });
  await Promise.all(
    steps.map(async (s) => {
      if (kept.get(s.from) === 'stopped') {
        await stopKeptGroup(state, servers, s.from);
        emit('group.stopped', `${s.from}: stopped, kept (roll forward with kiln rollback again: it gets new servers)`, { cluster: s.cluster, subject: s.from });
        return;
      }
      await drainGroup(deps, s.from);
      emit('group.disabled', `${s.from}: drained, kept disabled (roll forward with kiln rollback again)`, { cluster: s.cluster, subject: s.from });
    }),
  );
}
