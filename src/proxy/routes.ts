// The route table: the whole contract between the control plane and the data plane.
// The control plane computes it from state and PUTs it whole; the proxy saves it atomically
// and serves from it, so a proxy restart (or a dead control plane) loses nothing.

export interface Backend {
  /** Server name, e.g. "api-http-dev-v001-1". */
  server: string;
  host: string;
  port: number;
}

export interface GroupRoute {
  /** Server-group name, e.g. "api-http-dev-v001". */
  name: string;
  /** Host names that reach this group directly (preview before switching). */
  hosts: string[];
  backends: Backend[];
}

export interface ClusterRoute {
  /** Cluster name, e.g. "api-http-dev". */
  name: string;
  /** Host names that reach the cluster's active group. */
  hosts: string[];
  /** Stable loopback port on which the proxy serves only this cluster (its load balancer). */
  port?: number;
  /** Name of the group that takes the cluster's traffic, or null while none does. */
  active: string | null;
  /**
   * A kept group (draining or disabled, with healthy servers) that takes a request only when no
   * server of the active group accepted it: refused or reset before the request could have been
   * processed. Absent when there is none.
   */
  fallback?: string;
  /** Every group that still has servers: active, draining, disabled (kept for rollback). */
  groups: GroupRoute[];
  /**
   * `kiln pause`: the cluster's new requests wait, in arrival order, until a table without the
   * pause releases them, or are answered 503 when `until` (epoch ms) passes. Absent: not paused.
   */
  hold?: { until: number };
  /** `kiln maintenance on`: every request is answered 503 with this page and Retry-After. Wins over a pause. */
  maintenance?: MaintenancePage;
  /**
   * A canary release in progress (docs/canary.md): `group` takes `weight` percent of the
   * cluster's requests (sticky per client, split.ts), the active group the rest. Absent: none.
   */
  canary?: CanaryRoute;
}

export interface CanaryRoute {
  /** One of the cluster's groups, not the active one. */
  group: string;
  /** Percent of the cluster's requests, 0-100, at most two decimals. */
  weight: number;
}

/** A group's numbers since the proxy started: the canary gates compare two of them over a step. */
export interface GroupCounts {
  /** Requests answered with a status (any class). */
  answered: number;
  errors5xx: number;
  /** Latency of answered requests: [bucket, count] of metrics/fine-histogram.ts. */
  latency: Array<[number, number]>;
}

export interface MaintenancePage {
  /** HTML sent as the body (at most MAX_PAGE_BYTES). */
  page: string;
  /** Seconds for the Retry-After header. */
  retryAfterS: number;
}

/** A maintenance page larger than this is refused by the route table's validation. */
export const MAX_PAGE_BYTES = 64 * 1024;

export interface RouteTable {
  /** Increases with every change the control plane makes; the proxy ignores older tables. */
  version: number;
  clusters: ClusterRoute[];
  /**
   * Address ranges (CIDR, or one address) of proxies in front of this one (kiln.yaml's
   * `proxy.trusted-proxies`): only from these are a client's X-Forwarded-*, Forwarded and
   * X-Real-IP passed on. Absent: none.
   */
  trustedProxies?: string[];
}

export const EMPTY_ROUTE_TABLE: RouteTable = { version: 0, clusters: [] };

/** What GET /stats on the proxy's admin socket returns. */
export interface ProxyStats {
  version: number;
  requests: number;
  failed: number;
  /** In-flight requests per group name: a draining group is drained at 0. */
  inFlight: Record<string, number>;
  /** Open upgraded (WebSocket) connections per group; not in flight, so they never hold a drain. */
  tunnels: Record<string, number>;
  /**
   * Requests per cluster that its kept group served because no server of the active group
   * accepted them (a crash loop before its rollback), since the proxy started. Only clusters
   * that fell back at least once.
   */
  fallbacks: Record<string, number>;
  /** Per current group: answered, 5xx and latency since the proxy started (canary gates). */
  groups: Record<string, GroupCounts>;
  /** performance.timeOrigin of the proxy process: changes when the proxy restarts (its counts start at 0). */
  startedAt: number;
}
