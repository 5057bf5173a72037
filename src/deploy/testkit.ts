// Test helper (ko's recorder idea): a Runtime that records what it is asked and runs nothing, and
// a proxy that keeps the route tables it is sent and can be "killed", so deploy, rollback and the
// switch can be tested as data, without processes, ports or timing of their own.
import type { Runtime, ServerHandle, ServerLaunch } from '../runtime/types.js';
import { argv, hostResolver } from '../runtime/args.js';
import type { RouteTable } from '../proxy/routes.js';
import type { RuntimeState } from '../store/runtime-state.js';
import { buildRouteTable } from '../server/route-table.js';
import { ServerManager } from '../server/server-manager.js';
import { runPaths } from '../server/paths.js';
import type { DeployDeps, Emit } from './execute.js';
import type { ClusterPlan, DeployPlan } from './plan.js';
import { proxyLoadBalancer, type RoutingDeps } from './confirm-routes.js';

export class RecordingRuntime implements Runtime {
  readonly name = 'process' as const;
  /** Every start and stop, in order: "start <server>", "stop <server>". */
  readonly calls: string[] = [];
  private readonly running = new Map<number, string>();
  private nextPid = 1000;

  command(l: ServerLaunch): { file: string; args: string[]; cwd: string } {
    return { file: l.run[0] ?? '', args: [...l.run.slice(1), ...argv(l.args, hostResolver(l))], cwd: l.workDir };
  }
  async start(l: ServerLaunch): Promise<ServerHandle> {
    const pid = this.nextPid++;
    this.running.set(pid, l.name);
    this.calls.push(`start ${l.name}`);
    return { ref: `fake-${pid}`, pid, startTime: 'fake' };
  }
  async isAlive(h: ServerHandle): Promise<boolean> {
    return h.pid !== undefined && this.running.has(h.pid);
  }
  async stop(h: ServerHandle): Promise<void> {
    const name = h.pid === undefined ? undefined : this.running.get(h.pid);
    if (name === undefined) return;
    this.running.delete(h.pid!);
    this.calls.push(`stop ${name}`);
  }
  /** Names of the servers running now, sorted. */
  live(): string[] {
    return [...this.running.values()].sort();
  }
}

/** The proxy's side: the last table it took; `kill()` makes it refuse until `ensureProxy` restarts it. */
export class RecordingProxy {
  table: RouteTable | null = null;
  up = true;
  restarts = 0;
  /** Called with each table before it is taken: a test may kill the proxy "right at the PUT". */
  onPush: (t: RouteTable) => void = () => undefined;
  /** Whether the proxy comes back when asked to start. */
  restartable = true;
  kill(): void {
    this.up = false;
  }
}

export interface DeployWorld {
  deps: DeployDeps;
  /** The proxy's side as the control plane drives it (the load balancer in deps is made from it). */
  routing: RoutingDeps & { inFlight(group: string): Promise<number | null> };
  runtime: RecordingRuntime;
  proxy: RecordingProxy;
  events: Array<{ kind: string; message: string }>;
  emit: Emit;
}

export function deployWorld(state: RuntimeState, kilnDir = '/nonexistent/.kiln', opts: { proxyBackTimeoutMs?: number } = {}): DeployWorld {
  const runtime = new RecordingRuntime();
  const proxy = new RecordingProxy();
  const servers = new ServerManager(state, () => runtime, runPaths(kilnDir));
  let version = 0;
  const events: DeployWorld['events'] = [];
  const routing = {
    pushRoutes: async () => {
      const t = buildRouteTable(state, 'shop.test', ++version);
      if (!proxy.up) throw new Error('connect ECONNREFUSED proxy.sock');
      proxy.onPush(t);
      if (!proxy.up) throw new Error('socket hang up'); // killed after it saved the table
      proxy.table = t;
    },
    ensureProxy: async () => {
      if (proxy.up || !proxy.restartable) return;
      proxy.up = true;
      proxy.restarts++;
    },
    routedActive: async () => (proxy.up && proxy.table ? Object.fromEntries(proxy.table.clusters.map((c) => [c.name, c.active])) : null),
    inFlight: async () => (proxy.up ? 0 : null),
    proxyBackTimeoutMs: opts.proxyBackTimeoutMs,
  };
  const deps: DeployDeps = { state, servers, lb: proxyLoadBalancer(routing), appDir: async () => '/nonexistent/app' };
  return { deps, routing, runtime, proxy, events, emit: (kind, message) => events.push({ kind, message }) };
}

/** A plan of one release for the shop's api: an http role with a load balancer and a worker. */
export function apiPlan(state: RuntimeState, release: string, digest: string, roles: Array<'http' | 'worker'> = ['http', 'worker']): DeployPlan {
  const clusters = roles.map((role): ClusterPlan => {
    const cluster = `api-${role}-dev`;
    const existing = state.cluster(cluster);
    const build = existing?.next_build ?? 1;
    return {
      cluster,
      service: 'api',
      role,
      action: 'create',
      group: `${cluster}-v${String(build).padStart(3, '0')}`,
      build,
      replicas: role === 'http' ? 2 : 1,
      previous: existing?.active_group ?? null,
      lbPort: role === 'http' ? 40100 : null,
      app: { stream: 'app/api', tag: release, digest },
      run: ['node', 'server.js'],
      args: { style: 'equals', flags: role === 'worker' ? [{ name: 'mode', value: [{ kind: 'text', text: 'worker' }] }] : [], positional: [] },
      ...(role === 'http' ? { portName: 'http' } : {}),
    };
  });
  return { project: 'shop', env: 'dev', runtime: 'process', release, clusters };
}
