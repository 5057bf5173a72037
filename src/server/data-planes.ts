// Which data plane carries the traffic (kiln.yaml `proxy.engine`), and the load balancer a deploy
// switches through for it: the one place that knows both engines.
import { proxyLoadBalancer, type RoutingDeps } from '../deploy/confirm-routes.js';
import type { LoadBalancer } from '../deploy/load-balancer.js';
import type { DataPlane } from '../proxy/data-plane.js';
import { HaproxyEngine } from '../proxy/haproxy/engine.js';
import { haproxyLoadBalancer } from '../proxy/haproxy/load-balancer.js';
import type { MetricsSpec, ProxySpec } from '../spec/types.js';
import path from 'node:path';
import type { RunPaths } from './paths.js';
import { ProxySupervisor } from './proxy-supervisor.js';

export function dataPlaneFor(proxy: ProxySpec, paths: RunPaths, log: (m: string) => void, metrics?: MetricsSpec): DataPlane {
  if (proxy.engine === 'haproxy') {
    return new HaproxyEngine({
      binary: proxy.haproxy,
      runDir: paths.runDir,
      logFile: path.join(paths.logsDir, 'haproxy.log'),
      listen: proxy,
      ...(metrics ? { metrics } : {}),
      log,
    });
  }
  return new ProxySupervisor(paths, proxy, log, metrics);
}

/** The load balancer of `dp`: routes confirmed by reading back what the engine routes, drains by its in-flight counts. */
export function loadBalancerFor(dp: DataPlane, deps: Pick<RoutingDeps, 'pushRoutes' | 'ensureProxy'>): LoadBalancer {
  if (dp instanceof HaproxyEngine) return haproxyLoadBalancer(dp, deps);
  return proxyLoadBalancer({
    ...deps,
    routedActive: async () => {
      const t = await dp.routes(1_000);
      return t ? Object.fromEntries(t.clusters.map((c) => [c.name, c.active])) : null;
    },
    inFlight: async (g) => {
      const s = await dp.stats();
      return s ? (s.inFlight[g] ?? 0) : null;
    },
  });
}
