// What a canary does next, decided from data: the step it is in, how long it has run, whether it
// is paused or promoted by hand, and the gates' verdict over the step. The runner (deploy/canary.ts)
// carries the decision out; a test asserts on it without processes or clocks.
import type { CanaryStepSpec } from '../spec/types.js';
import type { Verdict } from './gates.js';

export type StepDecision =
  /** A gate failed: everything back to stable, the canary destroyed. Also when paused. */
  | 'abort'
  /** On to the next step (or, after the last, promotion). */
  | 'next'
  /** The step's time has not run out yet. */
  | 'wait'
  /** The time has run out but there were too few requests to judge: the step goes on. */
  | 'hold'
  /** A `pause: manual` step, waiting for `kiln rollout promote`. */
  | 'await-promote'
  /** Paused by `kiln rollout pause`: the step's clock stands still. */
  | 'paused';

export interface StepInput {
  step: CanaryStepSpec;
  /** Time spent in the step, pauses excluded. */
  elapsedMs: number;
  paused: boolean;
  /** `kiln rollout promote` asked to end the step now. */
  promote: boolean;
  verdict: Verdict;
}

export function decideStep(i: StepInput): StepDecision {
  // A failing canary is aborted whatever a person asked: promote is for a step that is fine or
  // has no data yet, not for overruling a measured failure.
  if (i.verdict === 'fail') return 'abort';
  if (i.promote) return 'next';
  if (i.paused) return 'paused';
  if (i.step.pause === 'manual') return 'await-promote';
  if (i.elapsedMs < (i.step.forMs ?? 0)) return 'wait';
  return i.verdict === 'pass' ? 'next' : 'hold';
}

/** Time in the step without its pauses, from the stored times (epoch milliseconds). */
export function stepElapsedMs(now: number, stepStarted: number, pausedMs: number, pausedAt: number | null): number {
  return Math.max(0, now - stepStarted - pausedMs - (pausedAt === null ? 0 : now - pausedAt));
}
