// The proxy's numbers per cluster and server group, kept as plain fields of objects the router
// hands out with each route: the hot path does `m.inFlight++`, never a lookup by name or a string
// built per request. The objects are resolved once, when a route table is applied (router.ts),
// and outlive the table that named them while requests of theirs are in flight, so a draining
// group is counted to its end. GET /stats (admin socket) and GET /metrics read the same fields.
import { sample } from '../metrics/exposition.js';
import { HistogramCell, LATENCY_BUCKETS, OPERATION_BUCKETS } from '../metrics/histogram.js';
import { FineHistogram } from '../metrics/fine-histogram.js';
import { Registry } from '../metrics/registry.js';
import type { GroupCounts, RouteTable } from './routes.js';

/** Index of a response's status class in GroupMetrics.byClass. */
export const CLASS_LABELS = ['1xx', '2xx', '3xx', '4xx', '5xx', 'aborted'] as const;
const ABORTED = 5;

export class ClusterMetrics {
  /** Requests its kept group took because no server of the active group accepted them. */
  fallbacks = 0;
  /** Seconds from a group's switch away until its last in-flight request finished. */
  readonly drainWait = new HistogramCell(OPERATION_BUCKETS);
  constructor(readonly name: string) {}
}

export class GroupMetrics {
  /** Finished requests by CLASS_LABELS: 1xx-5xx by the status sent, `aborted` when none was. */
  readonly byClass = new Float64Array(CLASS_LABELS.length);
  /** Seconds from dispatch to the end of the response. */
  readonly latency = new HistogramCell(LATENCY_BUCKETS);
  /** Latency of answered requests (not aborted ones), 5% buckets: what canary gates read (GET /stats). */
  readonly gateLatency = new FineHistogram();
  inFlight = 0;
  upstreamRefused = 0;
  upstreamReset = 0;
  upstreamTimeout = 0;
  upstreamOther = 0;
  /** Attempts on another backend (or the kept group) after one failed before answering. */
  retries = 0;
  /** Upgraded (WebSocket) connections opened through this group. */
  tunnelsOpened = 0;
  /** performance.now() when the group stopped being its cluster's active one, while it drains; else 0. */
  drainingSince = 0;

  constructor(
    readonly cluster: ClusterMetrics,
    readonly group: string,
  ) {}

  /** A request of this group is done: `status` is what the client got (0: nothing was sent). */
  finish(status: number, startedAt: number, now: number): void {
    const c = status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : ABORTED;
    this.byClass[c]!++;
    const seconds = (now - startedAt) / 1000;
    this.latency.observe(seconds);
    if (c !== ABORTED) this.gateLatency.observe(seconds);
    if (--this.inFlight === 0 && this.drainingSince !== 0) this.drained(now);
  }

  /** In flight ended without a response to count (an upgrade handed over, a declined one answered). */
  leave(now: number): void {
    if (--this.inFlight === 0 && this.drainingSince !== 0) this.drained(now);
  }

  upstreamError(code: string | undefined): void {
    if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') this.upstreamRefused++;
    else if (code === 'ECONNRESET' || code === 'EPIPE') this.upstreamReset++;
    else if (code === 'ETIMEDOUT') this.upstreamTimeout++;
    else this.upstreamOther++;
  }

  drained(now: number): void {
    this.cluster.drainWait.observe((now - this.drainingSince) / 1000);
    this.drainingSince = 0;
  }
}

/** Requests the proxy answered itself before any group: no route (404), malformed (400), no servers (503). */
export class UnroutedMetrics {
  noRoute = 0;
  badRequest = 0;
  unavailable = 0;
}

export class ProxyMetrics {
  private readonly clusters = new Map<string, ClusterMetrics>();
  /** By group name (unique across clusters: it starts with the cluster's name). */
  private readonly groups = new Map<string, GroupMetrics>();
  private active = new Set<string>();
  private current = new Set<string>();
  readonly unrouted = new UnroutedMetrics();
  readonly registry = new Registry();

  constructor(
    /** Open tunnels per group name, read at scrape time. */
    private readonly openTunnels: () => Record<string, number> = () => ({}),
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.register();
  }

  /** The object a route of `group` (in `cluster`) counts into; the same one for as long as it exists. */
  group(cluster: string, group: string): GroupMetrics {
    let g = this.groups.get(group);
    if (g === undefined || g.cluster.name !== cluster) {
      let c = this.clusters.get(cluster);
      if (c === undefined) this.clusters.set(cluster, (c = new ClusterMetrics(cluster)));
      this.groups.set(group, (g = new GroupMetrics(c, group)));
    }
    return g;
  }

  /**
   * A new route table: groups switched away from start draining (their drain wait ends when
   * their last in-flight request does), and what left the table with nothing in flight is
   * forgotten. Called before the router compiles the table, which looks the objects up.
   */
  apply(table: RouteTable): void {
    const now = this.clock();
    const active = new Set<string>();
    const current = new Set<string>();
    const clusters = new Set<string>();
    for (const c of table.clusters) {
      clusters.add(c.name);
      if (c.active !== null) active.add(c.active);
      for (const g of c.groups) current.add(g.name);
    }
    for (const name of this.active) {
      const g = this.groups.get(name);
      if (g === undefined || active.has(name) || g.drainingSince !== 0) continue;
      g.drainingSince = now;
      if (g.inFlight === 0) g.drained(now);
    }
    for (const name of active) {
      const g = this.groups.get(name);
      if (g) g.drainingSince = 0;
    }
    for (const [name, g] of this.groups) {
      if (!current.has(name) && g.inFlight <= 0) this.groups.delete(name);
    }
    const used = new Set([...this.groups.values()].map((g) => g.cluster.name));
    for (const name of this.clusters.keys()) if (!clusters.has(name) && !used.has(name)) this.clusters.delete(name);
    this.active = active;
    this.current = current;
  }

  /** In-flight requests per group: every current group (0 included) and any still draining. */
  inFlight(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of this.current) out[name] = 0;
    for (const [name, g] of this.groups) if (g.inFlight > 0 || this.current.has(name)) out[name] = Math.max(0, g.inFlight);
    return out;
  }

  /** Answered requests, 5xx answers and latency per current group, since the proxy started (canary gates). */
  groupCounts(): Record<string, GroupCounts> {
    const out: Record<string, GroupCounts> = {};
    for (const [name, g] of this.groups) {
      if (!this.current.has(name)) continue;
      let answered = 0;
      for (let i = 0; i < ABORTED; i++) answered += g.byClass[i]!;
      out[name] = { answered, errors5xx: g.byClass[4]!, latency: g.gateLatency.sparse() };
    }
    return out;
  }

  /** Per cluster that fell back at least once: requests its kept group took. */
  fallbacks(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, c] of this.clusters) if (c.fallbacks > 0) out[name] = c.fallbacks;
    return out;
  }

  expose(): string {
    return this.registry.expose();
  }

  private register(): void {
    const r = this.registry;
    const GL = ['cluster', 'group'];
    const perGroup = (write: (g: GroupMetrics, l: string[]) => string) => () => {
      let out = '';
      for (const g of this.groups.values()) out += write(g, [g.cluster.name, g.group]);
      return out;
    };
    r.custom('kiln_proxy_requests_total', 'counter', 'Requests forwarded to a server group, by the class of the status the client got (aborted: the client left before any).', [...GL, 'code'],
      perGroup((g, l) => {
        let out = '';
        for (let i = 0; i < CLASS_LABELS.length; i++) out += sample('kiln_proxy_requests_total', [...GL, 'code'], [...l, CLASS_LABELS[i]!], g.byClass[i]!);
        return out;
      }));
    r.custom('kiln_proxy_request_duration_seconds', 'histogram', 'Time from a request\'s dispatch to the end of its response (or the client leaving).', GL,
      perGroup((g, l) => g.latency.write('kiln_proxy_request_duration_seconds', GL, l)));
    r.custom('kiln_proxy_requests_in_flight', 'gauge', 'Requests dispatched to the group and not finished; a switched-away group drains to 0.', GL,
      perGroup((g, l) => sample('kiln_proxy_requests_in_flight', GL, l, Math.max(0, g.inFlight))));
    r.custom('kiln_proxy_upstream_errors_total', 'counter', 'Connections to a backend that failed before a complete answer, by reason (refused, reset, timeout, other).', [...GL, 'reason'],
      perGroup((g, l) => {
        const n = [...GL, 'reason'];
        return (
          sample('kiln_proxy_upstream_errors_total', n, [...l, 'refused'], g.upstreamRefused) +
          sample('kiln_proxy_upstream_errors_total', n, [...l, 'reset'], g.upstreamReset) +
          sample('kiln_proxy_upstream_errors_total', n, [...l, 'timeout'], g.upstreamTimeout) +
          sample('kiln_proxy_upstream_errors_total', n, [...l, 'other'], g.upstreamOther)
        );
      }));
    r.custom('kiln_proxy_retries_total', 'counter', 'Requests sent again to another backend after one failed before answering (safe retries only).', GL,
      perGroup((g, l) => sample('kiln_proxy_retries_total', GL, l, g.retries)));
    r.custom('kiln_proxy_tunnels_opened_total', 'counter', 'Upgraded (WebSocket) connections opened through the group.', GL,
      perGroup((g, l) => sample('kiln_proxy_tunnels_opened_total', GL, l, g.tunnelsOpened)));
    r.custom('kiln_proxy_tunnels_open', 'gauge', 'Upgraded (WebSocket) connections open now.', GL, () => {
      const open = this.openTunnels();
      let out = '';
      for (const g of this.groups.values()) out += sample('kiln_proxy_tunnels_open', GL, [g.cluster.name, g.group], open[g.group] ?? 0);
      return out;
    });
    r.custom('kiln_proxy_fallbacks_total', 'counter', 'Requests the cluster\'s kept group served because no server of its active group accepted them.', ['cluster'], () => {
      let out = '';
      for (const c of this.clusters.values()) out += sample('kiln_proxy_fallbacks_total', ['cluster'], [c.name], c.fallbacks);
      return out;
    });
    r.custom('kiln_proxy_drain_wait_seconds', 'histogram', 'Time from a group\'s switch away (a new route table) until its last in-flight request finished.', ['cluster'], () => {
      let out = '';
      for (const c of this.clusters.values()) out += c.drainWait.write('kiln_proxy_drain_wait_seconds', ['cluster'], [c.name]);
      return out;
    });
    r.custom('kiln_proxy_draining_groups', 'gauge', 'Groups switched away from that still have requests in flight.', ['cluster'], () => {
      const n = new Map<string, number>();
      for (const c of this.clusters.keys()) n.set(c, 0);
      for (const g of this.groups.values()) if (g.drainingSince !== 0) n.set(g.cluster.name, (n.get(g.cluster.name) ?? 0) + 1);
      let out = '';
      for (const [c, v] of n) out += sample('kiln_proxy_draining_groups', ['cluster'], [c], v);
      return out;
    });
    r.custom('kiln_proxy_unrouted_requests_total', 'counter', 'Requests the proxy answered itself before any server group: no route (404), bad request (400), nothing to serve (503).', ['reason'], () => {
      const u = this.unrouted;
      const n = ['reason'];
      return sample('kiln_proxy_unrouted_requests_total', n, ['no_route'], u.noRoute) + sample('kiln_proxy_unrouted_requests_total', n, ['bad_request'], u.badRequest) + sample('kiln_proxy_unrouted_requests_total', n, ['unavailable'], u.unavailable);
    });
  }
}
