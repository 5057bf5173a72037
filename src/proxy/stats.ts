// Counters behind GET /stats. In-flight counts are keyed by group name and outlive the table
// that named the group: the control plane watches a removed (draining) group until it reaches 0
// before it stops that group's servers.
import type { ProxyStats } from './routes.js';
import type { Router } from './router.js';

export class Stats {
  /** Every request a public listener received, routed or not. */
  requests = 0;
  /** Requests the proxy itself answered with 502, 503 or 504. */
  failed = 0;
  private readonly inFlight = new Map<string, number>();
  /** Per cluster: requests moved to its kept group. Otherwise invisible: they succeed. */
  private readonly fallbacks = new Map<string, number>();

  /** A request was dispatched to `group`. */
  begin(group: string): void {
    this.inFlight.set(group, (this.inFlight.get(group) ?? 0) + 1);
  }

  /** A request of `cluster` went on to the cluster's kept group. */
  fellBack(cluster: string): void {
    this.fallbacks.set(cluster, (this.fallbacks.get(cluster) ?? 0) + 1);
  }

  end(group: string): void {
    const n = (this.inFlight.get(group) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(group);
    else this.inFlight.set(group, n);
  }

  snapshot(version: number, router: Router, tunnels: Record<string, number>): ProxyStats {
    const inFlight: Record<string, number> = {};
    for (const g of router.currentGroups()) inFlight[g] = 0;
    for (const [g, n] of this.inFlight) inFlight[g] = n;
    return { version, requests: this.requests, failed: this.failed, inFlight, tunnels, fallbacks: Object.fromEntries(this.fallbacks) };
  }
}
