// Carries out a DeployPlan, blue/green (ARCHITECTURE.md, "Deploy: always new servers"):
//   1. create a new group per cluster and start its servers;
//   2. wait for every server's health check — on any failure destroy all new groups and stop:
//      the old groups never stopped serving and no request reached the new ones;
//   3. switch every cluster of the release to its new group in one route-table update;
//   4. drain the previous groups, keep them disabled for rollback, destroy older ones.
import { KilnError } from '../errors.js';
import type { GroupRow, RuntimeState, ServerRow } from '../store/runtime-state.js';
import type { ServerManager, StartedServer } from '../server/server-manager.js';
import type { DeployPlan } from './plan.js';

export type Emit = (kind: string, message: string, about?: { cluster?: string; subject?: string }) => void;

export interface DeployDeps {
  state: RuntimeState;
  servers: ServerManager;
  pushRoutes(): Promise<void>;
  /** In-flight requests the proxy has for a group, or null if it can't tell. */
  inFlight(group: string): Promise<number | null>;
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
  const { state, servers } = deps;

  // 0. Clusters whose active group already runs exactly this keep it: no new servers, no switch.
  const changing = plan.clusters.filter((c) => c.action !== 'unchanged');
  for (const c of plan.clusters) {
    if (c.action === 'unchanged') emit('cluster.unchanged', `${c.cluster}: unchanged, keeps ${c.group}`, { cluster: c.cluster, subject: c.group });
  }
  if (!changing.length) {
    return { deployment, release: plan.release, env: plan.env, groups: [], switchedAfterMs: 0, slowestHealthyMs: 0 };
  }

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
      template: {
        project: plan.project,
        env: plan.env,
        service: c.service,
        role: c.role,
        cluster: c.cluster,
        release: plan.release,
        appDigest: c.app.digest,
        appDir,
        run: c.run,
        flags: c.flags,
        ...(c.portName ? { portName: c.portName } : {}),
        ...(c.health ? { health: c.health } : {}),
        runtime: plan.runtime,
        ...(c.image ? { image: c.image } : {}),
      },
    });
    created.push(state.group(c.group) as GroupRow);
    emit('group.created', `${c.group}: starting ${c.replicas} server(s) of ${c.app.stream}:${c.app.tag}`, { cluster: c.cluster, subject: c.group });
  }

  // 2. Start and health-check every server; the first failure cancels the rest.
  const abort = new AbortController();
  let slowestHealthyMs = 0;
  let failure: { server: ServerRow; group: GroupRow; detail: string } | null = null;
  const startOne = async (g: GroupRow): Promise<void> => {
    let s: StartedServer;
    try {
      s = await servers.start(g);
    } catch (e) {
      const row = state.servers({ group: g.name }).at(-1);
      if (row && !failure) failure = { server: row, group: g, detail: (e as Error).message };
      abort.abort();
      return;
    }
    const started = Date.now();
    emit('server.started', `${s.row.name}: pid ${s.handle.pid}${s.row.port ? `, port ${s.row.port}` : ''}`, { cluster: g.cluster, subject: s.row.name });
    const result = await servers.waitHealthy(g, s, abort.signal);
    if (result.ok) {
      slowestHealthyMs = Math.max(slowestHealthyMs, Date.now() - started);
      state.setServerState(s.row.name, 'healthy', result.detail);
      emit('server.healthy', `${s.row.name}: healthy (${result.detail})`, { cluster: g.cluster, subject: s.row.name });
    } else if (!abort.signal.aborted || !failure) {
      state.setServerState(s.row.name, 'unhealthy', result.detail);
      if (!failure) failure = { server: state.server(s.row.name) as ServerRow, group: g, detail: result.detail };
      abort.abort();
    }
  };
  await Promise.all(created.flatMap((g) => Array.from({ length: g.replicas }, () => startOne(g))));

  if (failure) {
    const f = failure as { server: ServerRow; group: GroupRow; detail: string };
    const details = servers.tail(f.server, f.group);
    emit('deploy.failed', `${f.server.name} failed its health check: ${f.detail}; destroying the new groups`, { cluster: f.group.cluster, subject: f.server.name });
    for (const g of created) {
      state.setGroupState(g.name, 'failed');
      await Promise.all(state.servers({ group: g.name }).map((s) => servers.stop(s, 2_000)));
      emit('group.destroyed', `${g.name}: destroyed (never received traffic)`, { cluster: g.cluster, subject: g.name });
    }
    throw new KilnError('DEPLOY_FAILED', `deploy of ${plan.release} to ${plan.env} failed: server ${f.server.name} ${f.detail}`, {
      hint: 'the previous servers kept serving; nothing was switched',
      details,
    });
  }

  // 3. One switch for the whole release.
  const switched = state.tx(() =>
    changing.map((c) => {
      const prev = state.cluster(c.cluster)?.active_group ?? null;
      state.setActive(c.cluster, c.group);
      state.setGroupState(c.group, 'active');
      if (prev) state.setGroupState(prev, 'draining');
      return { cluster: c.cluster, group: c.group, previous: prev };
    }),
  );
  await deps.pushRoutes();
  const switchedAfterMs = Date.now() - t0;
  for (const s of switched) {
    emit('cluster.switched', `${s.cluster}: ${s.previous ?? '(none)'} -> ${s.group}`, { cluster: s.cluster, subject: s.group });
  }

  // 4. Drain, keep one, destroy the rest.
  await Promise.all(
    switched.filter((s) => s.previous).map(async (s) => {
      await drainGroup(deps, s.previous as string);
      emit('group.disabled', `${s.previous}: drained, kept disabled for rollback`, { cluster: s.cluster, subject: s.previous as string });
    }),
  );
  for (const s of switched) await destroyOlderGroups(deps, s.cluster, [s.group, s.previous], emit);

  return { deployment, release: plan.release, env: plan.env, groups: switched, switchedAfterMs, slowestHealthyMs };
}

/** Waits until the proxy has no request in flight for the group, then marks it disabled. */
export async function drainGroup(deps: DeployDeps, group: string): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const n = await deps.inFlight(group);
    if (n === 0 || n === null) break;
    await sleep(20);
  }
  const g = deps.state.group(group);
  if (g && g.state === 'draining') deps.state.setGroupState(group, 'disabled');
}

/** Destroys every live group of the cluster except the ones to keep. */
export async function destroyOlderGroups(deps: DeployDeps, cluster: string, keep: Array<string | null>, emit: Emit): Promise<void> {
  const doomed = deps.state
    .groups({ cluster, states: ['disabled', 'draining', 'active', 'creating'] })
    .filter((g) => !keep.includes(g.name) && g.state !== 'active');
  if (!doomed.length) return;
  for (const g of doomed) deps.state.setGroupState(g.name, 'destroyed');
  // Out of the route table first, then stop: no request is sent to a server being stopped.
  await deps.pushRoutes();
  for (const g of doomed) {
    await Promise.all(deps.state.servers({ group: g.name, states: ['starting', 'healthy', 'unhealthy'] }).map((s) => deps.servers.stop(s)));
    emit('group.destroyed', `${g.name}: destroyed`, { cluster, subject: g.name });
  }
}
