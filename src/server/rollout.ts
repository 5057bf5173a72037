// The control plane's side of kiln rollout status|promote|pause|resume|abort: a command is written to the canary's row in state.db
// (store/canaries.ts) and the canary's runner (deploy/canary.ts) carries it out on its next look,
// so a command given just before a control-plane restart is not lost either. `status` reads the
// row: the step, its clock and the gates' latest numbers.
import { KilnError } from '../errors.js';
import type { GateResult } from '../canary/gates.js';
import { stepElapsedMs } from '../canary/steps.js';
import type { Canaries, CanaryRow } from '../store/canaries.js';

export const ROLLOUT_ACTIONS = ['status', 'promote', 'pause', 'resume', 'abort'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

export interface RolloutHost {
  canaries: Canaries;
  event(kind: string, message: string, about: { env?: string; cluster?: string; subject?: string }): void;
  now?: () => number;
}

export interface RolloutView {
  cluster: string;
  env: string;
  deployment: number;
  canary: string;
  stable: string;
  /** 1-based step, of `steps`. */
  step: number;
  steps: number;
  weight: number;
  /** running, paused, holding (too few requests), awaiting-promote, done (waits for the deploy's other clusters). */
  state: 'running' | 'paused' | 'holding' | 'awaiting-promote' | 'done';
  elapsedMs: number;
  /** The step's `for`, or null for a manual step. */
  forMs: number | null;
  pending: { promote: boolean; abort: boolean };
  gates: GateResult | null;
}

export function rolloutView(r: CanaryRow, now: number): RolloutView {
  const step = r.spec.steps[r.step]!;
  const state = r.done
    ? 'done'
    : r.pausedAt !== null
      ? 'paused'
      : r.decision === 'hold'
        ? 'holding'
        : step.pause === 'manual'
          ? 'awaiting-promote'
          : 'running';
  return {
    cluster: r.cluster,
    env: r.env,
    deployment: r.deployment,
    canary: r.canaryGroup,
    stable: r.stableGroup,
    step: r.step + 1,
    steps: r.spec.steps.length,
    weight: r.weight,
    state,
    elapsedMs: stepElapsedMs(now, r.stepStarted, r.pausedMs, r.pausedAt),
    forMs: step.forMs ?? null,
    pending: { promote: r.promote, abort: r.abort },
    gates: r.lastGate,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function rolloutAction(host: RolloutHost, body: Record<string, unknown>): Promise<{ action: RolloutAction; rollout: RolloutView | null; message: string }> {
  const now = host.now ?? Date.now;
  const action = body.action as RolloutAction;
  if (!ROLLOUT_ACTIONS.includes(action)) throw new KilnError('USAGE', `unknown rollout action ${JSON.stringify(body.action)}`, { hint: `one of ${ROLLOUT_ACTIONS.join(', ')}` });
  const cluster = typeof body.cluster === 'string' ? body.cluster : '';
  const env = typeof body.env === 'string' ? body.env : '';
  const row = host.canaries.of(cluster);
  if (!row || row.env !== env) {
    throw new KilnError('CANARY_NOT_FOUND', `no canary is in progress on cluster ${cluster || '(none)'} in ${env || '(no environment)'}`, {
      hint: `kiln deploy <release> --canary --env ${env || '<env>'} starts one; kiln status --env ${env || '<env>'} shows what serves`,
    });
  }
  const about = { env, cluster, subject: row.canaryGroup };
  let message: string;
  switch (action) {
    case 'status':
      return { action, rollout: rolloutView(row, now()), message: '' };
    case 'pause':
      message = host.canaries.pause(cluster, now()) ? `${cluster}: canary paused at ${row.weight}% (its gates still abort it)` : `${cluster}: canary was already paused`;
      break;
    case 'resume':
      message = host.canaries.resume(cluster, now()) ? `${cluster}: canary resumed at ${row.weight}%` : `${cluster}: canary was not paused`;
      break;
    case 'promote':
      host.canaries.askPromote(cluster);
      message = `${cluster}: step ${row.step + 1} of ${row.spec.steps.length} ends now`;
      break;
    case 'abort': {
      host.canaries.askAbort(cluster);
      host.event('rollout.abort', `${cluster}: abort asked by kiln rollout abort`, about);
      // The runner aborts on its next look; answer once it did (its row is gone).
      const deadline = now() + 60_000;
      while (host.canaries.of(cluster) !== undefined && now() < deadline) await sleep(50);
      const gone = host.canaries.of(cluster) === undefined;
      return { action, rollout: gone ? null : rolloutView(host.canaries.of(cluster)!, now()), message: gone ? `${cluster}: canary aborted; every request goes to ${row.stableGroup}` : `${cluster}: abort asked; the canary's runner has not carried it out yet` };
    }
  }
  host.event(`rollout.${action}`, message, about);
  return { action, rollout: rolloutView(host.canaries.of(cluster) ?? row, now()), message };
}
