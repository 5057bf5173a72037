// Carries out a DeployPlan, blue/green (ARCHITECTURE.md, "Deploy: always new servers"):
//   1. create a new group per cluster and start its servers;
//   2. wait for every server's health check — on any failure destroy all new groups and stop:
//      the old groups never stopped serving and no request reached the new ones;
//   3. switch every cluster of the release to its new group in one route-table update, confirmed
//      by reading the proxy's table back (confirm-routes.ts: a proxy killed at that moment);
//   4. drain the previous groups, keep them disabled for rollback (a worker's: stopped, kept.ts),
//      destroy older ones.
import { KilnError } from '../errors.js';
import type { GroupRow, GroupTemplate, RuntimeState } from '../store/runtime-state.js';
import type { ServerManager } from '../server/server-manager.js';
import type { ClusterPlan, DeployPlan } from './plan.js';
import type { LoadBalancer, Want } from './load-balancer.js';
import { keptStateOf, stopKeptGroup } from './kept.js';
import { startServers } from './start-servers.js';

export type Emit = (kind: string, message: string, about?: { cluster?: string; subject?: string }) => void;

export interface DeployDeps {
  state: RuntimeState;
  servers: ServerManager;
  /** What carries the clusters' traffic (load-balancer.ts): the switch, the drain's in-flight counts. */
  lb: LoadBalancer;
  /** Read-only directory with the files of an app tag. */
  appDir(digest: string): Promise<string>;
}

export interface DeployOutcome {
  deployment: number;
  release: string;
  env: string;
  groups: Array<{ cluster: string; group: string; previous: string | null }>;
  /** Milliseconds from the start of the deploy to the switch. */
  switchedAfterMs: number;
  /** Longest time one new server took from start to healthy (the app's own start-up time). */
  slowestHealthyMs: number;
}

const DRAIN_TIMEOUT_MS = 30_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function executeDeploy(plan: DeployPlan, deps: DeployDeps, deployment: number, emit: Emit): Promise<DeployOutcome> {
  const t0 = Date.now();
  const started = await startNewGroups(plan, deps, deployment, emit);
  if (started === null) return { deployment, release: plan.release, env: plan.env, groups: [], switchedAfterMs: 0, slowestHealthyMs: 0 };
  const switched = await switchToNewGroups(plan, deps, started.created, emit);
  return { deployment, release: plan.release, env: plan.env, groups: switched.groups, switchedAfterMs: switched.at - t0, slowestHealthyMs: started.slowestHealthyMs };
}

/** The new groups of a deploy, all healthy, with the clusters that change (null: none changes). */
export interface StartedGroups {
  changing: DeployPlan['clusters'];
  created: GroupRow[];
  slowestHealthyMs: number;
}

/**
 * Steps 1 and 2: the new groups, created and health-checked; on a failure they are destroyed and
 * this throws (nothing was switched). Canary deploys (deploy/canary.ts) start the same way.
 */
export async function startNewGroups(plan: DeployPlan, deps: DeployDeps, deployment: number, emit: Emit): Promise<StartedGroups | null> {
  const { state, servers } = deps;

  // 0. Clusters whose active group already runs exactly this keep it: no new servers, no switch.
  const changing = plan.clusters.filter((c) => c.action !== 'unchanged');
  for (const c of plan.clusters) {
    if (c.action === 'unchanged') emit('cluster.unchanged', `${c.cluster}: unchanged, keeps ${c.group}`, { cluster: c.cluster, subject: c.group });
  }
  if (!changing.length) return null;

  // 1. Groups and servers.
  const created: GroupRow[] = [];
  for (const c of changing) {
    state.ensureCluster({ name: c.cluster, env: plan.env, service: c.service, role: c.role, lb_port: c.lbPort });
    if (c.lbPort !== null) state.setLbPort(c.cluster, c.lbPort);
    const build = state.takeBuild(c.cluster);
    if (build !== c.build) throw new Error(`build number of ${c.cluster} moved during the deploy (${c.build} -> ${build})`);
    const appDir = await deps.appDir(c.app.digest);
    state.insertGroup({
      name: c.group,
      cluster: c.cluster,
      build: c.build,
      release: plan.release,
      deployment_id: deployment,
      replicas: c.replicas,
      template: groupTemplate(plan, c, appDir),
    });
    created.push(state.group(c.group) as GroupRow);
    emit('group.created', `${c.group}: starting ${c.replicas} server(s) of ${c.app.stream}:${c.app.tag}`, { cluster: c.cluster, subject: c.group });
  }

  // 2. Start and health-check every server; the first failure cancels the rest.
  const { slowestHealthyMs, failure } = await startServers(deps, created, emit);

  if (failure) {
    const f = failure;
    const details = servers.tail(f.server, f.group);
    emit('deploy.failed', `${f.server.name} failed its health check: ${f.detail}; destroying the new groups`, { cluster: f.group.cluster, subject: f.server.name });
    await destroyNewGroups(deps, created, emit, 'never received traffic');
    throw new KilnError('DEPLOY_FAILED', `deploy of ${plan.release} to ${plan.env} failed: server ${f.server.name} ${f.detail}`, {
      hint: 'the previous servers kept serving; nothing was switched',
      details,
    });
  }
  return { changing, created, slowestHealthyMs };
}

/**
 * Steps 3 and 4: every cluster of `created` switched to its new group in one route-table update,
 * the previous groups drained and kept, older ones destroyed. A switch the proxy does not take is
 * undone and the new groups destroyed (this throws).
 */
export async function switchToNewGroups(
  plan: Pick<DeployPlan, 'release' | 'env'>,
  deps: DeployDeps,
  created: GroupRow[],
  emit: Emit,
): Promise<{ groups: Array<{ cluster: string; group: string; previous: string | null }>; at: number }> {
  const { state, servers } = deps;
  const changing = created.map((g) => ({ cluster: g.cluster, group: g.name }));
  // 3. One switch for the whole release. A previous group with a route drains; one without
  // (a worker) has nothing to disable, so it is kept stopped (kept.ts).
  const switched = state.tx(() =>
    changing.map((c) => {
      const prev = state.cluster(c.cluster)?.active_group ?? null;
      const prevRow = prev ? state.group(prev) : undefined;
      const kept = prevRow ? keptStateOf(state, prevRow) : null;
      state.setActive(c.cluster, c.group);
      state.setGroupState(c.group, 'active');
      if (prev && kept) state.setGroupState(prev, kept);
      return { cluster: c.cluster, group: c.group, previous: prev, kept };
    }),
  );
  // What the load balancer routes decides the outcome: a proxy killed at the switch is restarted
  // and asked; only if it cannot be brought to route the new groups is the switch undone.
  const routed = await deps.lb.route(routedClusters(state, switched));
  if (!routed.ok) {
    state.tx(() => {
      for (const s of switched) {
        state.setActive(s.cluster, s.previous);
        if (s.previous) state.setGroupState(s.previous, 'active');
      }
    });
    emit('deploy.failed', `${deps.lb.name} did not route the new groups (${routed.detail}); the switch was undone`);
    await deps.lb.route([], { timeoutMs: 0 }); // one try: a proxy that is back routes the old groups again
    await destroyNewGroups(deps, created, emit, 'its switch was undone');
    throw new KilnError('DEPLOY_FAILED', `deploy of ${plan.release} to ${plan.env} failed: ${deps.lb.name} did not route the new groups (${routed.detail})`, {
      hint: `the previous groups are active again; ${deps.lb.troubleshoot}, then deploy again`,
    });
  }
  if (routed.attempts > 1) emit('proxy.recovered', `${deps.lb.name} was back after ${routed.attempts - 1} failed attempt(s) and routes the new groups`);
  const at = Date.now();
  for (const s of switched) {
    emit('cluster.switched', `${s.cluster}: ${s.previous ?? '(none)'} -> ${s.group}`, { cluster: s.cluster, subject: s.group });
  }

  // 4. Drain (or stop), keep one, destroy the rest.
  await Promise.all(
    switched.map(async (s) => {
      if (!s.previous) return;
      if (s.kept === 'stopped') {
        await stopKeptGroup(state, servers, s.previous);
        emit('group.stopped', `${s.previous}: stopped, kept for rollback (no load balancer to disable: rollback starts new servers)`, { cluster: s.cluster, subject: s.previous });
        return;
      }
      await drainGroup(deps, s.previous);
      emit('group.disabled', `${s.previous}: drained, kept disabled for rollback`, { cluster: s.cluster, subject: s.previous });
    }),
  );
  for (const s of switched) await destroyOlderGroups(deps, s.cluster, [s.group, s.previous], emit);
  return { groups: switched.map(({ cluster, group, previous }) => ({ cluster, group, previous })), at };
}

/** What each server of a new group is started from (also what a dry run's command is made from). */
export function groupTemplate(plan: DeployPlan, c: ClusterPlan, appDir: string): GroupTemplate {
  return {
    project: plan.project,
    env: plan.env,
    service: c.service,
    role: c.role,
    cluster: c.cluster,
    release: plan.release,
    appDigest: c.app.digest,
    appDir,
    run: c.run,
    args: c.args,
    ...(c.portName ? { portName: c.portName } : {}),
    ...(c.health ? { health: c.health } : {}),
    ...(c.settleMs !== undefined ? { settleMs: c.settleMs } : {}),
    runtime: plan.runtime,
    ...(c.image ? { image: c.image } : {}),
  };
}

/** Clusters with a load balancer among `switched`, with the group each must route to. */
export function routedClusters(state: RuntimeState, switched: ReadonlyArray<{ cluster: string; group: string | null }>): Want[] {
  return switched.filter((s) => (state.cluster(s.cluster)?.lb_port ?? null) !== null).map((s) => ({ cluster: s.cluster, group: s.group }));
}

/** New groups that took no traffic (or lost it again): failed, servers stopped. */
export async function destroyNewGroups(deps: DeployDeps, created: GroupRow[], emit: Emit, why: string): Promise<void> {
  for (const g of created) {
    deps.state.setGroupState(g.name, 'failed');
    await Promise.all(deps.state.servers({ group: g.name }).map((s) => deps.servers.stop(s, 2_000)));
    emit('group.destroyed', `${g.name}: destroyed (${why})`, { cluster: g.cluster, subject: g.name });
  }
}

/** Waits until the load balancer has no request in flight for the group, then marks it disabled. */
export async function drainGroup(deps: Pick<DeployDeps, 'state' | 'lb'>, group: string): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const n = await deps.lb.inFlight(group);
    if (n === 0 || n === null) break;
    await sleep(20);
  }
  const g = deps.state.group(group);
  if (g && g.state === 'draining') deps.state.setGroupState(group, 'disabled');
}

/** Destroys every live group of the cluster except the ones to keep. */
export async function destroyOlderGroups(deps: DeployDeps, cluster: string, keep: Array<string | null>, emit: Emit): Promise<void> {
  const doomed = deps.state
    .groups({ cluster, states: ['disabled', 'stopped', 'draining', 'active', 'creating'] })
    .filter((g) => !keep.includes(g.name) && g.state !== 'active');
  if (!doomed.length) return;
  for (const g of doomed) deps.state.setGroupState(g.name, 'destroyed');
  // Out of the route table first, then stop: no request is sent to a server being stopped. A proxy
  // killed meanwhile is restarted first; if it stays down, nothing is routed to them either.
  await deps.lb.route([]);
  for (const g of doomed) {
    await Promise.all(deps.state.servers({ group: g.name, states: ['starting', 'healthy', 'unhealthy'] }).map((s) => deps.servers.stop(s)));
    emit('group.destroyed', `${g.name}: destroyed`, { cluster, subject: g.name });
  }
}
