// What `kiln deploy --canary --dry-run` shows: per changing cluster, the group that would be the
// canary, the stable group it is compared with, its steps and its gates, as data (--json) and as
// lines. A pure function of the deploy plan and the canary specs that deploy/canary.ts's
// canaryPlan has already checked, so the dry run refuses what the deploy would refuse and shows
// what the deploy would run.
import { formatDuration } from '../spec/dsl.js';
import type { DeployPlan } from '../deploy/plan.js';
import type { CanaryGatesSpec, CanarySpec } from '../spec/types.js';

export interface CanaryStepView {
  /** 1-based. */
  step: number;
  weight: number;
  /** The step lasts at least this long (ms); null for a manual step. */
  forMs: number | null;
  /** A step that lasts until `kiln rollout promote`. */
  manual: boolean;
}

export interface CanaryPlanView {
  cluster: string;
  /** The new group, which takes the steps' weights. */
  canary: string;
  /** The group serving now, which the gates compare the canary with and which takes the rest. */
  stable: string;
  steps: CanaryStepView[];
  gates: CanaryGatesSpec;
}

export function canaryPlanView(plan: DeployPlan, canaries: Map<string, CanarySpec>): CanaryPlanView[] {
  const out: CanaryPlanView[] = [];
  for (const c of plan.clusters) {
    const spec = canaries.get(c.cluster);
    if (!spec || c.action === 'unchanged') continue;
    out.push({
      cluster: c.cluster,
      canary: c.group,
      stable: c.previous ?? '',
      steps: spec.steps.map((s, i) => ({ step: i + 1, weight: s.weight, forMs: s.forMs ?? null, manual: s.pause === 'manual' })),
      gates: { ...spec.gates, warmupMs: spec.gates.warmupMs ?? 0 },
    });
  }
  return out;
}

/** The lines of the dry run's text, after the plan. */
export function formatCanaryPlan(views: CanaryPlanView[], env: string): string[] {
  if (views.length === 0) return ['canary: no cluster changes, so no canary would run'];
  const lines = ['canary (--canary): each cluster below goes through its steps before the switch; a failed gate aborts them all'];
  for (const v of views) {
    lines.push(`  ${v.cluster}: ${v.canary} against ${v.stable}`);
    for (const s of v.steps) {
      const how = s.manual ? `until kiln rollout promote ${v.cluster} --env ${env}` : `for at least ${formatDuration(s.forMs ?? 0)}, once its gates pass`;
      lines.push(`    step ${s.step}: ${s.weight}% of the requests ${how}`);
    }
    lines.push(`    then: 100% (the one-step switch; ${v.stable} kept for rollback)`);
    lines.push(`    gates: ${gateText(v.gates).join('; ')}`);
  }
  return lines;
}

function gateText(g: CanaryGatesSpec): string[] {
  const out = [
    `at least ${g.minRequests} requests per group and step (fewer: the step holds)`,
    `5xx at most +${g.max5xxIncrease} points above the stable group's`,
    `p99 at most ${g.maxP99Ratio}× the stable group's (a p99 under ${formatDuration(g.p99FloorMs)} counts as ${formatDuration(g.p99FloorMs)})`,
  ];
  if (g.warmupMs) out.push(`the first ${formatDuration(g.warmupMs)} of each step not counted`);
  if (g.prometheus) out.push(`prometheus ${g.prometheus.url}: ${g.prometheus.query} at most ${g.prometheus.max}`);
  return out;
}
