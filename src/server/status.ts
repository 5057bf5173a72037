// What `kiln status` shows: per environment, each cluster with its load balancer, its groups
// (active / draining / disabled) and their servers with health. Derived from state only.
import { fqdn } from '../names/names.js';
import type { ProjectSpec, ProxyEngine } from '../spec/types.js';
import { CRASH_LOOP_DEFAULTS } from './crash-loop.js';
import { LIVE_GROUP_STATES, type GroupRow, type RuntimeState } from '../store/runtime-state.js';
import { formatIsolation, type IsolationView } from '../isolation/isolation.js';
import type { CanaryRow } from '../store/canaries.js';
import { rolloutView, type RolloutView } from './rollout.js';

export interface StatusServer {
  name: string;
  state: string;
  pid: number | null;
  port: number | null;
  since: string;
  detail: string | null;
}
export interface StatusGroup {
  name: string;
  build: number;
  release: string;
  state: string;
  replicas: number;
  healthy: number;
  servers: StatusServer[];
  /** Why the group failed or crash-loops, and what to do (from its latest such event); else null. */
  failure: string | null;
  /** The container image it runs (digest); absent on the process runtime, which runs the app's files. */
  image?: string;
  /** From the proxy's counts (server/traffic-share.ts); absent when the proxy did not answer. */
  traffic?: { share: number | null; answered: number };
}
export interface StatusCluster {
  name: string;
  env: string;
  service: string;
  role: string;
  /** The load balancer's DNS name; null for a cluster without one (a worker role has no port). */
  host: string | null;
  url: string | null;
  active: string | null;
  groups: StatusGroup[];
  /**
   * Requests the proxy moved to the cluster's kept group because no server of the active group
   * accepted them, since the proxy started (its GET /stats). Present only when > 0.
   */
  fallbacks?: number;
  /** A canary in progress on the cluster (kiln deploy --canary): where it is. Absent: none. */
  canary?: StatusCanary;
}
/** The part of `kiln rollout status` that `kiln status` shows (server/rollout.ts has all of it). */
export interface StatusCanary {
  /** The canary group; `stable` takes the rest of the requests. */
  group: string;
  stable: string;
  /** 1-based, of `steps`. */
  step: number;
  steps: number;
  /** Percent of the cluster's requests the canary takes now. */
  weight: number;
  state: RolloutView['state'];
}
export interface StatusView {
  project: string;
  env: string | null;
  lastDeployment: { id: number; release: string; state: string; kind: string } | null;
  /** Per environment, the releases its active groups run (one, unless a cluster was rolled back alone). */
  serving?: Record<string, string[]>;
  clusters: StatusCluster[];
  /** What carries the traffic (kiln.yaml `proxy.engine`): `kiln` (the embedded proxy) or `haproxy`. */
  proxy?: { engine: ProxyEngine };
  /** Whether the control plane can write .kiln (added by the control plane, see storage-watch.ts). */
  storage?: { ok: boolean; message: string | null; since: string | null };
  /** Who servers and builds run as, and what isolation is lost when Kiln is not root (added by the control plane). */
  isolation?: IsolationView;
}

export function statusView(state: RuntimeState, spec: ProjectSpec, env?: string): StatusView {
  const clusters = state.clusters(env).map((c): StatusCluster => ({
    name: c.name,
    env: c.env,
    service: c.service,
    role: c.role,
    host: c.lb_port ? fqdn(c.name, spec.domain) : null,
    url: c.lb_port ? `http://${spec.proxy.host}:${c.lb_port}` : null,
    active: c.active_group,
    groups: shownGroups(state, c.name, c.active_group).map((g) => {
      const servers = state
        .servers({ group: g.name, states: ['starting', 'healthy', 'unhealthy'] })
        .map((s) => ({ name: s.name, state: s.state, pid: s.pid, port: s.port, since: s.changed_at, detail: s.detail }));
      return {
        name: g.name,
        build: g.build,
        release: g.release,
        state: g.state,
        replicas: g.replicas,
        healthy: servers.filter((s) => s.state === 'healthy').length,
        servers,
        failure: failureOf(state, g),
        ...(g.template.image && (g.template.runtime ?? 'process') !== 'process' ? { image: g.template.image.digest } : {}),
      };
    }),
  }));
  const view: StatusView = { project: spec.project, env: env ?? null, lastDeployment: env ? (state.lastDeployment(env) ?? null) : null, clusters, proxy: { engine: spec.proxy.engine } };
  return { ...view, serving: Object.fromEntries(servingReleases(view)) };
}

/**
 * Adds the proxy's per-cluster fallback counts (GET /stats `fallbacks`); `fallbacks` null (the
 * proxy is down or slow) leaves the view as it is: status never depends on the data plane.
 */
export function withFallbacks(view: StatusView, fallbacks: Record<string, number> | null): StatusView {
  if (!fallbacks) return view;
  return {
    ...view,
    clusters: view.clusters.map((c) => {
      const n = fallbacks[c.name] ?? 0;
      return n > 0 ? { ...c, fallbacks: n } : c;
    }),
  };
}

/** Adds each cluster's canary in progress (store/canaries.ts rows), as `kiln rollout status` sees it. */
export function withCanaries(view: StatusView, rows: CanaryRow[], now: number): StatusView {
  if (rows.length === 0) return view;
  const byCluster = new Map(rows.map((r) => [r.cluster, rolloutView(r, now)]));
  return {
    ...view,
    clusters: view.clusters.map((c) => {
      const r = byCluster.get(c.name);
      return r ? { ...c, canary: { group: r.canary, stable: r.stable, step: r.step, steps: r.steps, weight: r.weight, state: r.state } } : c;
    }),
  };
}

const FAILURE_EVENTS = ['group.failed', 'group.crash-loop'] as const;

function failureOf(state: RuntimeState, g: GroupRow): string | null {
  if (g.state === 'failed') return state.lastEventAbout(g.name, ['group.failed'])?.message ?? null;
  if (g.state !== 'active') return null;
  // An active group that crash-looped with nothing to roll back to: shown while it is recent.
  const e = state.lastEventAbout(g.name, FAILURE_EVENTS);
  return e && Date.now() - Date.parse(e.at) < 2 * (g.template.health?.crashLoop ?? CRASH_LOOP_DEFAULTS).windowMs ? e.message : null;
}

/**
 * The live groups, and a failed group newer than the active one (a crash loop rolled back from):
 * the cluster's newest build failing is what a user needs to see until the next deploy.
 */
function shownGroups(state: RuntimeState, cluster: string, active: string | null): GroupRow[] {
  const activeBuild = active ? (state.group(active)?.build ?? -1) : -1;
  // Two queries, so the failed groups older than the active one (history) are never read.
  const failed = state.groups({ cluster, states: ['failed'], aboveBuild: activeBuild }).filter((g) => state.lastEventAbout(g.name, ['group.failed']) !== undefined);
  return [...state.groups({ cluster, states: LIVE_GROUP_STATES }), ...failed].sort((a, b) => a.build - b.build);
}

/** Per environment, the releases its clusters' active groups run: what serves there now. */
export function servingReleases(v: StatusView): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const c of v.clusters) {
    const rel = c.groups.find((g) => g.name === c.active)?.release;
    const list = m.get(c.env) ?? [];
    if (rel && !list.includes(rel)) list.push(rel);
    m.set(c.env, list);
  }
  return m;
}

/** `paint` colours a word on a terminal (cli/colour.ts); plain text by default. */
export function formatStatus(v: StatusView, paint: (state: string, text: string) => string = (_s, t) => t): string {
  const lines: string[] = [];
  if (v.storage && !v.storage.ok) lines.push(`! storage since ${v.storage.since}: ${v.storage.message}`);
  const isolation = v.isolation ? [formatIsolation(v.isolation)] : [];
  if (!v.clusters.length) return [...lines, `nothing deployed${v.env ? ` in ${v.env}` : ''} yet`, ...isolation].join('\n');
  // The headline is what serves; a failed last deploy is said next to it, not instead of it.
  for (const [env, serving] of servingReleases(v)) {
    const d = v.env === env ? v.lastDeployment : null;
    const last = d && !(d.state === 'succeeded' && serving.length === 1 && serving[0] === d.release) ? `; last ${d.kind} ${d.release} ${paint(d.state, d.state)}` : '';
    lines.push(`${env}: ${serving.length ? `${serving.join(', ')} serves` : 'nothing serves'}${last}`);
  }
  // The default engine goes unsaid; HAProxy is named, since its logs and behaviour differ (docs/proxy.md).
  if (v.proxy?.engine === 'haproxy') lines.push('traffic through HAProxy (proxy.engine: haproxy)');
  for (const c of v.clusters) {
    lines.push(`${c.name}${c.host ? `  ${c.host}` : ''}${c.url ? `  ${c.url}` : ''}  active: ${c.active ?? '-'}`);
    if (c.canary) {
      const k = c.canary;
      lines.push(`  canary: ${k.group} takes ${k.weight}% (step ${k.step} of ${k.steps}, ${k.state}), ${k.stable} the rest; kiln rollout status ${c.name} --env ${c.env}`);
    }
    if (c.fallbacks) lines.push(`  ! ${c.fallbacks} request${c.fallbacks === 1 ? '' : 's'} served by the kept group: no server of the active group accepted them`);
    for (const g of c.groups) {
      lines.push(`  ${g.name}  ${g.release}  ${paint(g.state, g.state.padEnd(8))}  ${g.healthy}/${g.replicas} healthy`);
      if (g.failure) lines.push(`    ! ${g.failure}`);
      for (const s of g.servers) lines.push(`    ${s.name}  ${paint(s.state, s.state.padEnd(9))} pid ${s.pid ?? '-'}${s.port ? `  port ${s.port}` : ''}`);
    }
  }
  return [...lines, ...isolation].join('\n');
}
