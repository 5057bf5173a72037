// `kiln deploy --canary` (docs/canary.md): the new groups start and pass their health checks as in
// a blue/green deploy (execute.ts), then take a share of each cluster's requests, step by step,
// while the gates compare them with the stable groups from the proxy's own counts. A failed gate
// (or `kiln rollout abort`) sends every request back to the stable groups in one route-table
// update and destroys the new groups; the last step passed, the switch is the ordinary one-step
// switch of execute.ts, so the old groups are kept for rollback as after any deploy.
//
// Everything the loop needs is in state.db (store/canaries.ts): a control plane that restarts
// mid-canary calls runCanary again for the same deployment and goes on from the stored step.
import { KilnError } from '../errors.js';
import type { ProxyStats } from '../proxy/routes.js';
import type { CanarySpec } from '../spec/types.js';
import type { Canaries, CanaryRow } from '../store/canaries.js';
import type { GroupRow } from '../store/runtime-state.js';
import { describeFailure, EMPTY_COUNTS, evaluateGates, windowOf, type GateResult } from '../canary/gates.js';
import { decideStep, stepElapsedMs } from '../canary/steps.js';
import { destroyNewGroups, startNewGroups, switchToNewGroups, type DeployDeps, type Emit } from './execute.js';
import type { DeployPlan } from './plan.js';

export interface CanaryDeps extends DeployDeps {
  canaries: Canaries;
  /** The proxy's GET /stats, or null when it does not answer. */
  proxyStats(): Promise<ProxyStats | null>;
  /** An instant PromQL query's single number; null when it returned none (canary/prometheus.ts). */
  promQuery(url: string, query: string): Promise<number | null>;
  /** How often the gates are read (default 200 ms). */
  tickMs?: number;
  /** True once the control plane stops: the canary is left as it is, to go on at the next start. */
  stopping?: () => boolean;
  now?: () => number;
}

export interface CanaryFailure {
  cluster: string;
  /** The gates' numbers over the step that failed; null for an abort by hand. */
  result: GateResult | null;
  /** The failed checks with their numbers, one line each. */
  lines: string[];
}

export interface CanaryOutcome {
  deployment: number;
  release: string;
  env: string;
  /** interrupted: the control plane stopped; the canary goes on (from state.db) when it starts again. */
  outcome: 'promoted' | 'aborted' | 'unchanged' | 'interrupted';
  groups: Array<{ cluster: string; group: string; previous: string | null }>;
  /** Why it was aborted, with the numbers. */
  failure?: CanaryFailure;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The canary of each changing cluster, or a USAGE error naming what cannot take one. */
export function canaryPlan(plan: DeployPlan, deps: DeployDeps, specOf: (service: string, role: string) => CanarySpec | undefined): Map<string, CanarySpec> {
  const out = new Map<string, CanarySpec>();
  for (const c of plan.clusters) {
    if (c.action === 'unchanged') continue;
    const spec = specOf(c.service, c.role);
    if (!spec) {
      throw new KilnError('USAGE', `cluster ${c.cluster} changes, but role ${c.service}.${c.role} has no strategy.canary`, {
        location: { flag: '--canary' },
        hint: `add services.${c.service}.roles.${c.role}.strategy.canary to kiln.yaml (docs/canary.md), or deploy without --canary`,
      });
    }
    if (c.lbPort === null) {
      throw new KilnError('USAGE', `cluster ${c.cluster} has no load balancer to split`, { hint: 'deploy without --canary' });
    }
    if (!deps.state.cluster(c.cluster)?.active_group) {
      throw new KilnError('USAGE', `cluster ${c.cluster} has no group serving yet: a canary needs a stable group to compare with`, {
        hint: 'deploy this first release without --canary',
      });
    }
    out.set(c.cluster, spec);
  }
  return out;
}

/** Starts the new groups, gives them their first step's weight and runs the canary to its end. */
export async function executeCanary(plan: DeployPlan, deps: CanaryDeps, deployment: number, canaries: Map<string, CanarySpec>, emit: Emit): Promise<CanaryOutcome> {
  const what = { deployment, release: plan.release, env: plan.env };
  const started = await startNewGroups(plan, deps, deployment, emit);
  if (started === null) return { ...what, outcome: 'unchanged', groups: [] };
  const at = (deps.now ?? Date.now)();
  deps.state.tx(() => {
    for (const g of started.created) {
      const stable = deps.state.cluster(g.cluster)?.active_group;
      const spec = canaries.get(g.cluster);
      if (!stable || !spec) throw new Error(`canary of ${g.cluster} lost its stable group or spec`);
      deps.state.setGroupState(g.name, 'canary');
      deps.canaries.start({ cluster: g.cluster, deployment, env: plan.env, canaryGroup: g.name, stableGroup: stable, spec, at });
    }
  });
  const routed = await deps.lb.route(deps.canaries.ofDeployment(deployment).map((r) => ({ cluster: r.cluster, group: r.stableGroup })));
  if (!routed.ok) {
    return abort(deps, deployment, what, emit, { cluster: started.created[0]!.cluster, result: null, lines: [`kiln proxy did not take the canary routes (${routed.detail})`] });
  }
  for (const r of deps.canaries.ofDeployment(deployment)) {
    emit('canary.started', `${r.cluster}: ${r.canaryGroup} takes ${r.weight}% of the requests, ${r.stableGroup} the rest (step 1 of ${r.spec.steps.length})`, { cluster: r.cluster, subject: r.canaryGroup });
  }
  return runCanary(deps, deployment, what, emit);
}

/** The gates, steps and commands of one deployment's canaries until it is promoted or aborted. */
export async function runCanary(deps: CanaryDeps, deployment: number, what: { deployment: number; release: string; env: string }, emit: Emit): Promise<CanaryOutcome> {
  const now = deps.now ?? Date.now;
  const tick = deps.tickMs ?? 200;
  for (;;) {
    if (deps.stopping?.()) return { ...what, outcome: 'interrupted', groups: [] };
    const rows = deps.canaries.ofDeployment(deployment);
    if (rows.length === 0) throw new Error(`the canary of deployment ${deployment} has no rows`);
    const asked = rows.find((r) => r.abort);
    if (asked) return abort(deps, deployment, what, emit, { cluster: asked.cluster, result: null, lines: ['aborted by kiln rollout abort'] });
    const stats = await deps.proxyStats();
    if (stats !== null) {
      let moved = false;
      for (const r of rows) {
        if (r.done) continue;
        const step = r.spec.steps[r.step]!;
        const elapsedMs = stepElapsedMs(now(), r.stepStarted, r.pausedMs, r.pausedAt);
        // The step's window starts after its warm-up: what is counted until then is left out.
        if (r.baseline === null && elapsedMs < (r.spec.gates.warmupMs ?? 0) && !r.promote && !r.abort) continue;
        const base = baselineOf(deps.canaries, r, stats);
        const result = evaluateGates(r.spec.gates, windowOf(stats.groups[r.canaryGroup], base.canary), windowOf(stats.groups[r.stableGroup], base.stable));
        let decision = decideStep({ step, elapsedMs, paused: r.pausedAt !== null, promote: r.promote, verdict: result.verdict });
        // The Prometheus gate is asked once the step would pass on the proxy's numbers.
        if (decision === 'next' && !r.promote && r.spec.gates.prometheus) {
          const p = r.spec.gates.prometheus;
          const query = p.query.replaceAll('$cluster', r.cluster).replaceAll('$canary', r.canaryGroup).replaceAll('$stable', r.stableGroup);
          const value = await deps.promQuery(p.url, query).catch(() => null);
          const ok = value !== null && value <= p.max;
          result.checks.push({ gate: 'prometheus', value, limit: p.max, ok });
          if (!ok) {
            result.verdict = 'fail';
            decision = 'abort';
          }
        }
        deps.canaries.recordGate(r.cluster, result, decision);
        if (decision === 'abort') {
          const lines = describeFailure(result);
          return abort(deps, deployment, what, emit, { cluster: r.cluster, result, lines });
        }
        if (decision !== 'next') continue;
        const how = r.promote ? 'promoted by hand' : `gates passed: ${summary(result)}`;
        if (r.step + 1 < r.spec.steps.length) {
          const next = r.spec.steps[r.step + 1]!;
          deps.canaries.enterStep(r.cluster, r.step + 1, next.weight, now(), null);
          emit('canary.step', `${r.cluster}: step ${r.step + 1} done (${how}); ${r.canaryGroup} takes ${next.weight}% (step ${r.step + 2} of ${r.spec.steps.length})`, { cluster: r.cluster, subject: r.canaryGroup });
          moved = true;
        } else {
          deps.canaries.markDone(r.cluster);
          emit('canary.passed', `${r.cluster}: last step done (${how})`, { cluster: r.cluster, subject: r.canaryGroup });
        }
      }
      if (moved) {
        const routed = await deps.lb.route(rows.map((r) => ({ cluster: r.cluster, group: r.stableGroup })));
        if (!routed.ok) return abort(deps, deployment, what, emit, { cluster: rows[0]!.cluster, result: null, lines: [`kiln proxy did not take the new weights (${routed.detail})`] });
      }
      if (deps.canaries.ofDeployment(deployment).every((r) => r.done)) return promote(deps, deployment, what, emit);
    }
    await sleep(tick);
  }
}

/** The counts the step is measured from: read at its first look, again after a proxy restart. */
function baselineOf(canaries: Canaries, r: CanaryRow, stats: ProxyStats): { canary: typeof EMPTY_COUNTS; stable: typeof EMPTY_COUNTS } {
  if (r.baseline !== null && r.baseline.proxy === stats.startedAt) return r.baseline;
  // A proxy that restarted counts from 0 since it started: what it counted is all this step's.
  const fresh = r.baseline === null
    ? { proxy: stats.startedAt, canary: stats.groups[r.canaryGroup] ?? EMPTY_COUNTS, stable: stats.groups[r.stableGroup] ?? EMPTY_COUNTS }
    : { proxy: stats.startedAt, canary: EMPTY_COUNTS, stable: EMPTY_COUNTS };
  canaries.setBaseline(r.cluster, fresh);
  return fresh;
}

function summary(r: GateResult): string {
  const prom = r.checks.find((k) => k.gate === 'prometheus');
  return (
    `${r.canary.requests} vs ${r.stable.requests} requests, 5xx ${round(r.canary.rate5xxPercent)}% vs ${round(r.stable.rate5xxPercent)}%, p99 ${r.canary.p99Ms} vs ${r.stable.p99Ms} ms` +
    (prom ? `, prometheus ${prom.value} (max ${prom.limit})` : '')
  );
}
const round = (x: number): number => Math.round(x * 100) / 100;

/** Every request back to the stable groups at once, then the canary groups drained and destroyed. */
async function abort(deps: CanaryDeps, deployment: number, what: { deployment: number; release: string; env: string }, emit: Emit, failure: CanaryFailure): Promise<CanaryOutcome> {
  const rows = deps.canaries.ofDeployment(deployment);
  const groups = rows.map((r) => deps.state.group(r.canaryGroup)).filter((g): g is GroupRow => g !== undefined);
  // The canary rows and the groups' state in one transaction: the next route table has no canary.
  deps.state.tx(() => {
    deps.canaries.removeDeployment(deployment);
    for (const g of groups) deps.state.setGroupState(g.name, 'failed');
  });
  const routed = await deps.lb.route(rows.map((r) => ({ cluster: r.cluster, group: r.stableGroup })));
  emit('canary.aborted', `${failure.cluster}: canary aborted: ${failure.lines.join('; ')}; every request goes to the stable group again${routed.ok ? '' : ` (the proxy did not confirm: ${routed.detail})`}`, { cluster: failure.cluster });
  // Requests the canary had in flight finish before its servers stop (bounded, as a drain).
  const deadline = Date.now() + 30_000;
  for (const g of groups) {
    while (Date.now() < deadline) {
      const n = await deps.lb.inFlight(g.name);
      if (n === 0 || n === null) break;
      await sleep(20);
    }
  }
  await destroyNewGroups(deps, groups, emit, 'its canary was aborted');
  return { ...what, outcome: 'aborted', groups: [], failure };
}

/** Every canary passed its steps: the ordinary one-step switch to the new groups. */
async function promote(deps: CanaryDeps, deployment: number, what: { deployment: number; release: string; env: string }, emit: Emit): Promise<CanaryOutcome> {
  const rows = deps.canaries.ofDeployment(deployment);
  const groups = rows.map((r) => deps.state.group(r.canaryGroup)).filter((g): g is GroupRow => g !== undefined);
  deps.canaries.removeDeployment(deployment);
  const switched = await switchToNewGroups({ release: what.release, env: what.env }, deps, groups, emit);
  emit('canary.promoted', `${what.release} takes every request of ${rows.map((r) => r.cluster).join(', ')}`);
  return { ...what, outcome: 'promoted', groups: switched.groups };
}
