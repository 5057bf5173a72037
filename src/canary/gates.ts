// Canary gates as arithmetic on two windows of the proxy's own counts (GET /stats): what the
// canary and the stable group answered over the current step. Pure functions, so the verdict a
// deploy acts on is data a test asserts on. Too few requests on either side is inconclusive: a
// step never passes for lack of evidence (the failure mode of analyses that count "no data" as
// success); it holds until there is enough, or someone steers it (kiln rollout promote, or abort).
import { fineQuantile } from '../metrics/fine-histogram.js';
import type { GroupCounts } from '../proxy/routes.js';
import type { CanaryGatesSpec } from '../spec/types.js';

/** Must equal the defaults of `strategy.canary.gates` in spec/schema.ts (a unit test checks). */
export const CANARY_GATE_DEFAULTS: CanaryGatesSpec = { minRequests: 100, max5xxIncrease: 1, maxP99Ratio: 2, p99FloorMs: 5, warmupMs: 0 };

export const EMPTY_COUNTS: GroupCounts = { answered: 0, errors5xx: 0, latency: [] };

/** What a group answered since `base` (both are since the proxy started). */
export function windowOf(now: GroupCounts | undefined, base: GroupCounts | undefined): GroupCounts {
  const n = now ?? EMPTY_COUNTS;
  const b = base ?? EMPTY_COUNTS;
  const before = new Map(b.latency.map(([i, c]) => [i, c]));
  const latency: Array<[number, number]> = [];
  for (const [i, c] of n.latency) {
    const d = c - (before.get(i) ?? 0);
    if (d > 0) latency.push([i, d]);
  }
  return { answered: Math.max(0, n.answered - b.answered), errors5xx: Math.max(0, n.errors5xx - b.errors5xx), latency };
}

export interface GroupFigures {
  requests: number;
  errors5xx: number;
  /** Percent of answered requests that were 5xx. */
  rate5xxPercent: number;
  /** p99 latency in milliseconds (null: no request). */
  p99Ms: number | null;
}

export interface GateCheck {
  gate: 'min-requests' | 'max-5xx-increase' | 'max-p99-ratio' | 'prometheus';
  /** The measured value: requests of the smaller group, percentage points, a ratio, the query's result. */
  value: number | null;
  limit: number;
  ok: boolean;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface GateResult {
  verdict: Verdict;
  canary: GroupFigures;
  stable: GroupFigures;
  checks: GateCheck[];
}

export function figures(w: GroupCounts): GroupFigures {
  const p99 = fineQuantile(w.latency, 0.99);
  return {
    requests: w.answered,
    errors5xx: w.errors5xx,
    rate5xxPercent: w.answered > 0 ? (100 * w.errors5xx) / w.answered : 0,
    p99Ms: p99 === null ? null : round3(p99 * 1000),
  };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * The gates over one step's windows. Fails as soon as both groups have the minimum sample and a
 * limit is crossed; passes only with the minimum sample and every limit kept; else inconclusive.
 */
export function evaluateGates(gates: CanaryGatesSpec, canary: GroupCounts, stable: GroupCounts): GateResult {
  const c = figures(canary);
  const s = figures(stable);
  const fewest = Math.min(c.requests, s.requests);
  const enough = fewest >= gates.minRequests;
  const checks: GateCheck[] = [{ gate: 'min-requests', value: fewest, limit: gates.minRequests, ok: enough }];
  if (!enough) return { verdict: 'inconclusive', canary: c, stable: s, checks };
  const increase = round3(c.rate5xxPercent - s.rate5xxPercent);
  checks.push({ gate: 'max-5xx-increase', value: increase, limit: gates.max5xxIncrease, ok: increase <= gates.max5xxIncrease });
  const floor = gates.p99FloorMs;
  const ratio = round3(Math.max(c.p99Ms ?? 0, floor) / Math.max(s.p99Ms ?? 0, floor));
  checks.push({ gate: 'max-p99-ratio', value: ratio, limit: gates.maxP99Ratio, ok: ratio <= gates.maxP99Ratio });
  return { verdict: checks.every((k) => k.ok) ? 'pass' : 'fail', canary: c, stable: s, checks };
}

/** One line per failed check, with the numbers: what `kiln deploy --canary` prints on an abort. */
export function describeFailure(r: GateResult): string[] {
  const out: string[] = [];
  for (const k of r.checks) {
    if (k.ok) continue;
    if (k.gate === 'max-5xx-increase') {
      out.push(
        `5xx: canary ${pct(r.canary.rate5xxPercent)} (${r.canary.errors5xx}/${r.canary.requests}) vs stable ${pct(r.stable.rate5xxPercent)} (${r.stable.errors5xx}/${r.stable.requests}): +${k.value} points, limit +${k.limit}`,
      );
    } else if (k.gate === 'max-p99-ratio') {
      out.push(`p99: canary ${r.canary.p99Ms} ms vs stable ${r.stable.p99Ms} ms: ${k.value}×, limit ${k.limit}×`);
    } else if (k.gate === 'prometheus') {
      out.push(`prometheus query: ${k.value === null ? 'no number' : k.value}, limit ${k.limit}`);
    } else out.push(`min-requests: ${k.value}, needs ${k.limit}`);
  }
  return out;
}

const pct = (x: number): string => `${Math.round(x * 100) / 100}%`;
