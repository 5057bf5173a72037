// HAProxy as a cluster's load balancer (deploy/load-balancer.ts): a deploy's switch is one route
// table, applied as one batch of runtime-API commands (engine.ts), confirmed by reading back
// which group's servers HAProxy has ready — what it routes, not what was sent — and a drain
// waits on HAProxy's own count of streams on the group's servers (`scur` of `show stat`).
import { confirmRoutes, PROXY_BACK_TIMEOUT_MS } from '../../deploy/confirm-routes.js';
import type { LoadBalancer } from '../../deploy/load-balancer.js';
import type { HaproxyEngine } from './engine.js';

export interface HaproxyRouting {
  /** Computes the route table from state and applies it through `engine.push`. */
  pushRoutes(): Promise<void>;
  /** Starts HAProxy again when it is not running (from its saved table), then pushes. */
  ensureProxy(): Promise<void>;
  proxyBackTimeoutMs?: number;
}

export function haproxyLoadBalancer(engine: HaproxyEngine, deps: HaproxyRouting): LoadBalancer {
  const routing = {
    ...deps,
    routedActive: async () => {
      const t = await engine.routes(1_000);
      return t ? Object.fromEntries(t.clusters.map((c) => [c.name, c.active])) : null;
    },
  };
  return {
    name: engine.name,
    troubleshoot: engine.troubleshoot,
    route: (want, opts) => confirmRoutes(routing, want, opts?.timeoutMs ?? deps.proxyBackTimeoutMs ?? PROXY_BACK_TIMEOUT_MS),
    inFlight: async (group) => {
      const s = await engine.stats(1_000);
      return s ? (s.inFlight[group] ?? 0) : null;
    },
  };
}
