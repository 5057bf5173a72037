// The route table compiled for the hot path: one Map lookup from a Host header (or a cluster
// port) to a group's backends, round robin over them, skipping backends that recently refused
// a connection. A new table replaces the compiled form in one assignment, so a request sees
// either the old routes or the new ones, never a mix.
import { ProxyMetrics, type GroupMetrics } from './metrics.js';
import type { Backend, MaintenancePage, RouteTable } from './routes.js';
import { normalizeHost } from './validate.js';
import { offsetOf, thresholdOf } from './split.js';

export interface BackendTarget {
  readonly server: string;
  readonly host: string;
  readonly port: number;
  /** "host:port", the key passive health is tracked under (a backend keeps it across tables). */
  readonly key: string;
}

export interface GroupTarget {
  readonly name: string;
  readonly backends: readonly BackendTarget[];
  /** Round-robin cursor. */
  next: number;
  /** Where this group's requests are counted (metrics.ts), resolved once per route table. */
  readonly metrics: GroupMetrics;
}

/** A canary in progress on a cluster: its group and the split's threshold and offset (split.ts). */
export interface CanaryTarget {
  readonly group: GroupTarget;
  readonly threshold: number;
  readonly offset: number;
}

export type Resolution =
  /**
   * `fallback`: the cluster's kept group, tried only when no server of `group` accepted;
   * `cluster`: the cluster whose route this is (null for a group's own name, which never falls back);
   * `canary`: the cluster's canary, which takes its share of requests from `group` (split.ts).
   */
  | { readonly kind: 'group'; readonly group: GroupTarget; readonly fallback: GroupTarget | null; readonly cluster: string | null; readonly canary: CanaryTarget | null }
  | { readonly kind: 'unavailable'; readonly status: 503; readonly message: string }
  /** `kiln maintenance on`: answered 503 with the page and Retry-After. */
  | { readonly kind: 'maintenance'; readonly cluster: string; readonly page: MaintenancePage }
  /** `kiln pause`: waits (holds.ts) until released or `until`, then is resolved again. */
  | { readonly kind: 'held'; readonly cluster: string; readonly until: number };

/** How long a backend that refused a connection is skipped. */
export const BACKEND_DOWN_MS = 1000;

function target(b: Backend): BackendTarget {
  return { server: b.server, host: b.host, port: b.port, key: `${b.host}:${b.port}` };
}

function groupResolution(group: GroupTarget, what: string, cluster: string | null = null, fallback: GroupTarget | null = null, canary: CanaryTarget | null = null): Resolution {
  const spare = fallback !== null && fallback.backends.length > 0 ? fallback : null;
  if (group.backends.length === 0 && spare === null) {
    return { kind: 'unavailable', status: 503, message: `${what} has no servers\n` };
  }
  return { kind: 'group', group, fallback: spare, cluster, canary };
}

interface Compiled {
  byHost: Map<string, Resolution>;
  byPort: Map<number, Resolution>;
  groupNames: Set<string>;
}

function compile(table: RouteTable, metrics: ProxyMetrics): Compiled {
  const byHost = new Map<string, Resolution>();
  const byPort = new Map<number, Resolution>();
  const groupNames = new Set<string>();
  for (const c of table.clusters) {
    const groups = new Map<string, GroupTarget>();
    for (const g of c.groups) {
      const gt: GroupTarget = { name: g.name, backends: g.backends.map(target), next: 0, metrics: metrics.group(c.name, g.name) };
      groups.set(g.name, gt);
      groupNames.add(g.name);
      const r = groupResolution(gt, `server group ${g.name}`);
      for (const h of g.hosts) byHost.set(normalizeHost(h), r);
    }
    const active = c.active === null ? undefined : groups.get(c.active);
    const fallback = c.fallback === undefined ? null : (groups.get(c.fallback) ?? null);
    const canaryGroup = c.canary === undefined ? undefined : groups.get(c.canary.group);
    // Weight 0 is no split at all; a canary without servers takes nothing (its requests would only fall back).
    const canary: CanaryTarget | null =
      canaryGroup && c.canary && c.canary.weight > 0 && canaryGroup.backends.length > 0
        ? { group: canaryGroup, threshold: thresholdOf(c.canary.weight), offset: offsetOf(canaryGroup.name) }
        : null;
    const r: Resolution = c.maintenance
      ? { kind: 'maintenance', cluster: c.name, page: c.maintenance }
      : c.hold
        ? { kind: 'held', cluster: c.name, until: c.hold.until }
        : active
          ? groupResolution(active, `cluster ${c.name} (active group ${active.name})`, c.name, fallback, canary)
          : { kind: 'unavailable', status: 503, message: `cluster ${c.name} has no active server group\n` };
    for (const h of c.hosts) byHost.set(normalizeHost(h), r);
    if (c.port !== undefined) byPort.set(c.port, r);
  }
  return { byHost, byPort, groupNames };
}

export class Router {
  private compiled: Compiled;
  private readonly downUntil = new Map<string, number>();

  constructor(readonly metrics: ProxyMetrics = new ProxyMetrics()) {
    this.compiled = compile({ version: 0, clusters: [] }, metrics);
  }

  apply(table: RouteTable): void {
    this.metrics.apply(table);
    this.compiled = compile(table, this.metrics);
  }

  /** Undefined for a host no cluster or group claims (404). */
  byHost(rawHost: string | undefined): Resolution | undefined {
    if (rawHost === undefined) return undefined;
    const c = this.compiled;
    // Fast path: most clients send the host exactly as it is in the table.
    return c.byHost.get(rawHost) ?? c.byHost.get(normalizeHost(rawHost));
  }

  byPort(port: number): Resolution | undefined {
    return this.compiled.byPort.get(port);
  }

  isCurrentGroup(name: string): boolean {
    return this.compiled.groupNames.has(name);
  }

  currentGroups(): Iterable<string> {
    return this.compiled.groupNames;
  }

  markDown(b: BackendTarget): void {
    this.downUntil.set(b.key, Date.now() + BACKEND_DOWN_MS);
  }

  /**
   * The next backend in round-robin order that is not in `tried` and not marked down; if every
   * untried one is marked down, the next untried one anyway (it may be back, and trying beats a
   * certain 503). Null when every backend has been tried.
   */
  pick(group: GroupTarget, tried: ReadonlySet<BackendTarget> | null): BackendTarget | null {
    const list = group.backends;
    const n = list.length;
    if (n === 0) return null;
    const now = this.downUntil.size > 0 ? Date.now() : 0;
    let fallback: BackendTarget | null = null;
    let fallbackAt = 0;
    for (let i = 0; i < n; i++) {
      const at = (group.next + i) % n;
      const b = list[at]!;
      if (tried !== null && tried.has(b)) continue;
      if (now !== 0) {
        const until = this.downUntil.get(b.key);
        if (until !== undefined) {
          if (until > now) {
            if (fallback === null) {
              fallback = b;
              fallbackAt = at;
            }
            continue;
          }
          this.downUntil.delete(b.key);
        }
      }
      group.next = at + 1;
      return b;
    }
    if (fallback !== null) group.next = fallbackAt + 1;
    return fallback;
  }
}
