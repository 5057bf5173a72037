// A switch is what the proxy routes, not what state.db says. The proxy can die at the very moment
// of a switch (kill -9 between the route-table PUT and its answer, or just before it): the deploy
// must then neither report a failure while the new group serves, nor leave its drain and clean-up
// undone. So the table is sent until a proxy (restarted if it died; it restores its own saved
// table first) answers, and the table it reports back is compared with what was meant.
import type { Confirmation, LoadBalancer, Want } from './load-balancer.js';

export interface RoutingDeps {
  /** Computes the route table from state and sends it; throws when the proxy does not take it. */
  pushRoutes(): Promise<void>;
  /** Starts the proxy if it is not running (it restores its saved routes), or adopts it. */
  ensureProxy(): Promise<void>;
  /** The active group of each routed cluster, read back from the proxy; null when it does not answer. */
  routedActive(): Promise<Record<string, string | null> | null>;
  /** How long to wait for a dead proxy (default PROXY_BACK_TIMEOUT_MS). */
  proxyBackTimeoutMs?: number;
}

/** How long a deploy waits for a killed proxy to be back before it undoes its switch. */
export const PROXY_BACK_TIMEOUT_MS = 30_000;
const RETRY_MS = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Sends the route table until the proxy routes every cluster of `want` as meant. `want` lists
 * only clusters with a load balancer (a worker has no route); with none, one accepted table is
 * enough. Resolves `ok: false` with what was last seen if the proxy is not back in time.
 */
export async function confirmRoutes(deps: RoutingDeps, want: readonly Want[], timeoutMs = deps.proxyBackTimeoutMs ?? PROXY_BACK_TIMEOUT_MS): Promise<Confirmation> {
  const deadline = Date.now() + timeoutMs;
  let detail = '';
  for (let attempt = 1; ; attempt++) {
    let pushed = true;
    try {
      await deps.pushRoutes();
    } catch (e) {
      pushed = false;
      detail = `the proxy did not take the route table: ${(e as Error).message}`;
    }
    const routed = await deps.routedActive().catch(() => null);
    if (routed) {
      const wrong = want.filter((w) => (routed[w.cluster] ?? null) !== w.group);
      if (!wrong.length && (pushed || want.length > 0)) return { ok: true, attempts: attempt };
      if (wrong.length) detail = `the proxy routes ${wrong.map((w) => `${w.cluster} to ${routed[w.cluster] ?? 'nothing'}, not ${w.group ?? 'nothing'}`).join('; ')}`;
    } else if (pushed) {
      detail = 'the proxy took the route table, then stopped answering';
    }
    if (Date.now() >= deadline) return { ok: false, detail };
    await deps.ensureProxy().catch((e: Error) => {
      detail = `the proxy could not be started: ${e.message}`;
    });
    await sleep(Math.min(RETRY_MS, Math.max(0, deadline - Date.now())));
  }
}

/** Kiln's proxy as the load balancer: its route table, computed from state, confirmed by reading it back. */
export function proxyLoadBalancer(deps: RoutingDeps & { inFlight(group: string): Promise<number | null> }): LoadBalancer {
  return {
    name: 'kiln proxy',
    troubleshoot: 'see .kiln/logs/proxy.log for why the proxy is down',
    route: (want, opts) => confirmRoutes(deps, want, opts?.timeoutMs ?? deps.proxyBackTimeoutMs ?? PROXY_BACK_TIMEOUT_MS),
    inFlight: (group) => deps.inFlight(group),
  };
}
