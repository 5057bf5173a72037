// Counters behind GET /stats on the admin socket. Per-group and per-cluster numbers (in flight,
// fallbacks) are the same fields GET /metrics reads (metrics.ts), kept once: in-flight counts
// outlive the table that named a group, because the control plane watches a removed (draining)
// group until it reaches 0 before it stops that group's servers.
import type { ProxyMetrics } from './metrics.js';
import type { ProxyStats } from './routes.js';

export class Stats {
  /** Every request a public listener received, routed or not. */
  requests = 0;
  /** Requests the proxy itself answered with 502, 503 or 504. */
  failed = 0;

  constructor(readonly metrics: ProxyMetrics) {}

  snapshot(version: number, tunnels: Record<string, number>): ProxyStats {
    return { version, requests: this.requests, failed: this.failed, inFlight: this.metrics.inFlight(), tunnels, fallbacks: this.metrics.fallbacks(), groups: this.metrics.groupCounts(), startedAt: Math.round(performance.timeOrigin) };
  }
}
