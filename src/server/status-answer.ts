// GET /v1/status's answer, put together: state (status.ts) or the cluster (kubernetes), the
// proxy's fallbacks and each group's traffic share (traffic-share.ts), storage and isolation. The
// CLI, the dashboard's pages and its live stream all read this one function.
import type { ProjectSpec } from '../spec/types.js';
import type { RuntimeState } from '../store/runtime-state.js';
import type { ProxyStats } from '../proxy/routes.js';
import type { IsolationView } from '../isolation/isolation.js';
import type { StorageView } from './storage-watch.js';
import { environmentOf } from '../spec/lookup.js';
import { isKubernetesEnv, kubeStatus } from './kube-ops.js';
import { statusView, withCanaries, withFallbacks, type StatusView } from './status.js';
import type { CanaryRow } from '../store/canaries.js';
import { trafficShares, type TrafficSampler } from './traffic-share.js';

export interface StatusAnswerDeps {
  state: RuntimeState;
  /** kiln.yaml as the control plane started with (names, domain, proxy address). */
  spec: ProjectSpec;
  currentSpec(): ProjectSpec;
  kilnDir: string;
  proxyStats(timeoutMs: number): Promise<ProxyStats | null>;
  storage(): StorageView;
  isolation(): IsolationView;
  traffic: TrafficSampler;
  /** The canaries in progress (store/canaries.ts): each one's weight, step and state on its cluster. */
  canaries(): CanaryRow[];
}

export async function statusAnswer(d: StatusAnswerDeps, env: string | undefined): Promise<StatusView> {
  // A mistyped --env is an error naming the environments, not an empty status. One that
  // still has clusters is shown even if kiln.yaml no longer defines it.
  if (env !== undefined && d.state.clusters(env).length === 0) environmentOf(d.currentSpec(), env);
  const spec = d.currentSpec();
  if (env !== undefined && isKubernetesEnv(spec, env)) {
    return { ...(await kubeStatus(d.state, spec, d.kilnDir, env)), storage: d.storage(), isolation: d.isolation() };
  }
  // One admin call with a short timeout: a down or stuck proxy costs status at most 300 ms.
  const stats = await d.proxyStats(300);
  let view = withFallbacks(statusView(d.state, d.spec, env), stats?.fallbacks ?? null);
  if (stats) {
    const now = { at: Date.now(), proxy: stats.startedAt, answered: Object.fromEntries(Object.entries(stats.groups).map(([g, c]) => [g, c.answered])) };
    view = trafficShares(view, d.traffic.add(now), now);
  }
  view = withCanaries(view, d.canaries().filter((r) => env === undefined || r.env === env), Date.now());
  return { ...view, storage: d.storage(), isolation: d.isolation() };
}
