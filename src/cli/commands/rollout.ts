// `kiln rollout status|promote|pause|resume|abort <cluster> --env E`: steers a canary release in
// progress (docs/canary.md) through the control plane's API; the logic is in server/rollout.ts.
import type { CommandDef } from '../command.js';
import { ApiClient } from '../../server/client.js';
import { findKilnDir } from '../project.js';
import { requireEnv } from '../env-option.js';
import type { RolloutAction, RolloutView } from '../../server/rollout.js';

const SUMMARY: Record<RolloutAction, string> = {
  status: 'a canary in progress: its step, weight, clock and the gates\' latest numbers',
  promote: 'end the canary\'s current step now (a `pause: manual` step waits for this)',
  pause: 'stop the current step\'s clock; the weight stays and failing gates still abort',
  resume: 'start the paused step\'s clock again',
  abort: 'send every request to the stable group at once and destroy the canary group',
};

const EXAMPLES: Record<RolloutAction, string[]> = {
  status: ['kiln rollout status api-http-prod --env prod', 'kiln rollout status api-http-prod --env prod --json'],
  promote: ['kiln rollout promote api-http-prod --env prod'],
  pause: ['kiln rollout pause api-http-prod --env prod'],
  resume: ['kiln rollout resume api-http-prod --env prod'],
  abort: ['kiln rollout abort api-http-prod --env prod'],
};

function formatView(v: RolloutView): string {
  const g = v.gates;
  const lines = [
    `${v.cluster} (${v.env}): ${v.canary} takes ${v.weight}%, ${v.stable} the rest`,
    `  step ${v.step} of ${v.steps}, ${v.state}, ${Math.round(v.elapsedMs / 100) / 10} s${v.forMs !== null ? ` of ${v.forMs / 1000} s` : ' (until promoted)'}`,
  ];
  if (g) {
    lines.push(`  canary: ${g.canary.requests} requests, 5xx ${round(g.canary.rate5xxPercent)}%, p99 ${g.canary.p99Ms ?? '-'} ms`);
    lines.push(`  stable: ${g.stable.requests} requests, 5xx ${round(g.stable.rate5xxPercent)}%, p99 ${g.stable.p99Ms ?? '-'} ms`);
    lines.push(`  gates: ${g.verdict} (${g.checks.map((c) => `${c.gate} ${c.value ?? '-'}/${c.limit}${c.ok ? '' : ' FAILED'}`).join(', ')})`);
  }
  if (v.pending.promote) lines.push('  promote asked');
  return lines.join('\n');
}
const round = (x: number): number => Math.round(x * 100) / 100;

function rolloutCommand(action: RolloutAction): CommandDef {
  return {
    name: `rollout ${action}`,
    summary: SUMMARY[action],
    description:
      'Steers a canary started by `kiln deploy <release> --canary` (process and podman runtimes).\n' +
      'Commands are kept in the state database, so one given while the control plane restarts is\n' +
      'carried out when it is back. With --json the answer is {action, message, rollout}.',
    positionals: [{ name: 'cluster', required: true, description: 'the cluster with the canary, e.g. api-http-prod' }],
    options: { env: { type: 'string', short: 'e', value: '<env>', description: 'environment (required)' } },
    json: true,
    examples: EXAMPLES[action],
    async run(ctx) {
      const env = requireEnv(ctx);
      const client = new ApiClient(findKilnDir(ctx.cwd));
      const r = await client.post<{ action: RolloutAction; message: string; rollout: RolloutView | null }>('/v1/rollout', { action, cluster: ctx.positionals[0], env });
      if (ctx.json) ctx.outJson(r);
      else ctx.out([r.message, ...(r.rollout && action === 'status' ? [formatView(r.rollout)] : [])].filter(Boolean).join('\n'));
      return 0;
    },
  };
}

export const rolloutStatusCommand = rolloutCommand('status');
export const rolloutPromoteCommand = rolloutCommand('promote');
export const rolloutPauseCommand = rolloutCommand('pause');
export const rolloutResumeCommand = rolloutCommand('resume');
export const rolloutAbortCommand = rolloutCommand('abort');
