// The route table as HAProxy sees it: one backend per cluster, and in it every server of every
// group twice — as a normal server (taking traffic only while its group is the cluster's active
// one) and as a backup copy (taking traffic only while its group is the kept fallback and no
// normal server is usable). Which server is in which state is all a switch changes, so a
// switch is a batch of `set server ... state` commands on the runtime API (commands.ts), never a
// reload. What the runtime API cannot change (frontends, ports, host names, maintenance pages,
// trusted proxies) is in the reload key: when that changes, the config is written again
// and HAProxy's master reloads its worker without dropping a connection (engine.ts).
import type { RouteTable } from '../routes.js';

/** HAProxy's admin state of a server, as `set server <b>/<s> state` names it. */
export type ServerState = 'ready' | 'drain' | 'maint';

export interface HaproxyServer {
  backend: string;
  /** The name in HAProxy: the Kiln server name, with FALLBACK_SUFFIX for the backup copy. */
  name: string;
  /** The Kiln names it stands for. */
  server: string;
  group: string;
  cluster: string;
  host: string;
  port: number;
  backup: boolean;
  state: ServerState;
}

/** Kiln names are [a-z0-9-]; `_` never occurs in them, so the copy's name cannot clash. */
export const FALLBACK_SUFFIX = '_fallback';

export function backendOf(cluster: string): string {
  return `c_${cluster}`;
}

/** The Kiln server a HAProxy server name stands for, and whether it is the backup copy. */
export function kilnServerOf(haproxyName: string): { server: string; backup: boolean } {
  return haproxyName.endsWith(FALLBACK_SUFFIX)
    ? { server: haproxyName.slice(0, -FALLBACK_SUFFIX.length), backup: true }
    : { server: haproxyName, backup: false };
}

/**
 * Group host names (`<group>.<domain>`, a build tried before it takes traffic) reach one group:
 * each cluster has PREVIEW_SLOTS backends of its own, a group is given a free one while it is
 * live, and a map (host -> slot backend, changed at run time with `add/set/del map`) routes to
 * it. A group beyond the slots has no group route (404) until another group goes.
 */
export const PREVIEW_SLOTS = 4;

export function previewBackend(cluster: string, slot: number): string {
  return `p_${cluster}_${slot}`;
}

/** The cluster and slot of a preview backend's name; null for any other backend. */
export function slotOf(backend: string): { cluster: string; slot: number } | null {
  const m = /^p_(.+)_(\d+)$/.exec(backend);
  return m ? { cluster: m[1]!, slot: Number(m[2]) } : null;
}

/** The group of a Kiln server name (`<group>-<n>`). */
export function groupOfServer(server: string): string {
  return server.replace(/-\d+$/, '');
}

/**
 * Slot per group: a group keeps the slot it has (`current`, read from HAProxy), a new one takes
 * the lowest free slot of its cluster.
 */
export function assignSlots(table: RouteTable, current: ReadonlyMap<string, number> = new Map()): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of table.clusters) {
    const used = new Set<number>();
    for (const g of c.groups) {
      const s = current.get(g.name);
      if (s !== undefined && s < PREVIEW_SLOTS && !used.has(s)) {
        out.set(g.name, s);
        used.add(s);
      }
    }
    for (const g of c.groups) {
      if (out.has(g.name)) continue;
      const free = [...Array(PREVIEW_SLOTS).keys()].find((i) => !used.has(i));
      if (free === undefined) break;
      out.set(g.name, free);
      used.add(free);
    }
  }
  return out;
}

/** The preview map's entries (lower-case host, with and without a final dot -> slot backend), sorted. */
export function previewEntries(table: RouteTable, slots: ReadonlyMap<string, number>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const c of table.clusters) {
    for (const g of c.groups) {
      const slot = slots.get(g.name);
      if (slot === undefined) continue;
      for (const h of g.hosts) out.push([h.toLowerCase(), previewBackend(c.name, slot)], [`${h.toLowerCase()}.`, previewBackend(c.name, slot)]);
    }
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * Every server HAProxy should have, in table order, with the state it should be in. A group
 * that is neither active nor the fallback (a new one not yet switched to, one draining) has its
 * normal servers in `drain`: no new request, the ones in flight finish. The canary split is not
 * carried by this engine yet (docs/proxy.md): a canary group's servers stay in `drain`. A group
 * with a preview slot has its servers there too, always ready.
 */
export function serversOf(table: RouteTable, slots: ReadonlyMap<string, number> = assignSlots(table)): HaproxyServer[] {
  const out: HaproxyServer[] = [];
  for (const c of table.clusters) {
    const backend = backendOf(c.name);
    for (const g of c.groups) {
      for (const b of g.backends) {
        const base = { backend, server: b.server, group: g.name, cluster: c.name, host: b.host, port: b.port };
        out.push({ ...base, name: b.server, backup: false, state: g.name === c.active ? 'ready' : 'drain' });
        out.push({ ...base, name: b.server + FALLBACK_SUFFIX, backup: true, state: g.name === c.fallback ? 'ready' : 'maint' });
      }
    }
    for (const g of c.groups) {
      const slot = slots.get(g.name);
      if (slot === undefined) continue;
      for (const b of g.backends) {
        out.push({ backend: previewBackend(c.name, slot), name: b.server, server: b.server, group: g.name, cluster: c.name, host: b.host, port: b.port, backup: false, state: 'ready' });
      }
    }
  }
  return out;
}

/**
 * The pause map's entries: cluster -> its bound (epoch ms), for paused clusters not in
 * maintenance (maintenance wins). Changed at run time: a pause or resume is no reload (hold.ts).
 */
export function pauseEntries(table: RouteTable): Array<[string, string]> {
  return table.clusters.flatMap((c): Array<[string, string]> => (c.hold && !c.maintenance ? [[c.name, String(c.hold.until)]] : []));
}

/**
 * Everything of the table that HAProxy reads only from its config: equal keys mean the running
 * config still fits and a change is runtime commands only.
 */
export function reloadKey(table: RouteTable): string {
  return JSON.stringify({
    clusters: table.clusters.map((c) => ({
      name: c.name,
      hosts: c.hosts,
      port: c.port ?? null,
      maintenance: c.maintenance ?? null,
    })),
    trustedProxies: table.trustedProxies ?? [],
  });
}

/**
 * A server's address and options, the same in the config and in `add server`. Checks are plain
 * TCP connects (Kiln's own health check decides what joins the table); `observe layer4` marks a
 * server down at its first refused connection, so the retry that follows goes to another
 * server — to the backup copies of the kept group once no normal server is left.
 */
export function serverArgs(s: HaproxyServer): string[] {
  return [
    `${s.host}:${s.port}`,
    ...(s.backup ? ['backup'] : []),
    'check', 'inter', '1s', 'fall', '2', 'rise', '1',
    'observe', 'layer4', 'error-limit', '1', 'on-error', 'mark-down',
  ];
}
