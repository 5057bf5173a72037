// The dashboard's view of the control plane (web/host.ts), built from the same calls the API
// answers: releases and diffs from the store (as `kiln release list|show|diff`), the plan from the
// deploy's own dry run, status from the one status function, actions through deploy and rollback.
import type { StreamWriter } from './api.js';
import type { StatusView } from './status.js';
import type { Store } from '../store/init.js';
import type { RuntimeState } from '../store/runtime-state.js';
import type { Timeline } from '../store/timeline.js';
import type { ProjectSpec } from '../spec/types.js';
import type { DashboardHost } from '../web/host.js';
import { diffReleases, getRelease, listReleases } from '../release/index.js';
import { diffSources } from '../release/diff-sources.js';
import { releaseTags } from '../web/pages/releases.js';
import { queryLogs } from '../logs/query.js';
import type { LogStore } from '../logs/store.js';
import type { Canaries } from '../store/canaries.js';
import { rolloutView, type RolloutAction } from './rollout.js';

export interface DashboardHostDeps {
  store: Store;
  state: RuntimeState;
  timeline: Timeline;
  logs: LogStore;
  currentSpec(): ProjectSpec;
  status(env: string | undefined): Promise<StatusView>;
  deploy(body: Record<string, unknown>, out: StreamWriter): Promise<unknown>;
  rollback(body: Record<string, unknown>, out: StreamWriter): Promise<unknown>;
  rollbackPlan(env: string): Array<{ cluster: string; from: string; to: string }>;
  canaries: Canaries;
  /** The API's POST /v1/rollout. */
  rollout(body: { env: string; cluster: string; action: RolloutAction }): Promise<{ message: string }>;
  tokenMatches(presented: string): boolean;
}

const quiet: StreamWriter = { event: () => undefined };

export function dashboardHost(d: DashboardHostDeps): DashboardHost {
  return {
    project: () => d.currentSpec().project,
    environments: () => {
      const spec = d.currentSpec();
      const names = new Set([...Object.keys(spec.environments), ...d.state.clusters().map((c) => c.env)]);
      return [...names].sort().map((name) => ({ name, runtime: spec.environments[name]?.runtime ?? '(not in kiln.yaml)' }));
    },
    status: (env) => d.status(env),
    events: (env, limit) => d.state.events({ env, limit }),
    deployments: (env, limit) => d.timeline.deployments(env, limit),
    failureTail: (deployment, lines) => {
      // deploy.failed names the server whose health check failed; group.failed (a crash loop) the group.
      const seen = new Set<string>();
      const out: Array<{ subject: string; lines: string[] }> = [];
      for (const e of d.state.events({ deployment })) {
        if (!e.subject || seen.has(e.subject) || (e.kind !== 'deploy.failed' && e.kind !== 'group.failed')) continue;
        seen.add(e.subject);
        const filter = e.kind === 'deploy.failed' ? { server: e.subject } : { group: e.subject };
        out.push({ subject: e.subject, lines: queryLogs(d.logs, { ...filter, limit: lines }).map((l) => `${l.server} ${l.stream} ${l.text}`) });
      }
      return out;
    },
    releases: () => listReleases(d.store.db),
    release: (name) => {
      const release = getRelease(d.store.db, d.store.oci, name);
      return { release, tags: releaseTags(release) };
    },
    diff: (from, to) => diffReleases(getRelease(d.store.db, d.store.oci, from), getRelease(d.store.db, d.store.oci, to), diffSources(d.store, d.currentSpec())),
    deployPlan: async (env, release) => {
      const r = (await d.deploy({ env, release, dryRun: true }, quiet)) as { text?: unknown };
      return typeof r.text === 'string' ? r.text : JSON.stringify(r, null, 2);
    },
    rollbackPlan: (env) => d.rollbackPlan(env),
    deploy: (body, out) => d.deploy(body, out),
    rollback: (body, out) => d.rollback(body, out),
    canaries: (env) =>
      d.canaries
        .all()
        .filter((r) => r.env === env)
        .map((r) => ({ view: rolloutView(r, Date.now()), nextWeight: r.spec.steps[r.step + 1]?.weight ?? null })),
    rollout: async (env, cluster, action) => (await d.rollout({ env, cluster, action })).message,
    tokenMatches: (t) => d.tokenMatches(t),
  };
}
