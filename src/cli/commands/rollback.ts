import type { CommandDef } from '../command.js';
import { kubeRollback } from '../kubernetes.js';
import { ApiClient } from '../../server/client.js';
import { findKilnDir } from '../project.js';
import { requireEnv } from '../env-option.js';

export const rollbackCommand: CommandDef = {
  name: 'rollback',
  summary: 'switch back to the group kept after the last deploy, in one step',
  description: 'Without a cluster, every cluster of the environment rolls back together.',
  positionals: [{ name: 'cluster', required: false, description: 'only this cluster, e.g. api-http-dev' }],
  options: {
    env: { type: 'string', short: 'e', value: '<env>', description: 'environment (required)' },
    'dry-run': { type: 'boolean', description: 'print the groups each cluster would switch between and change nothing' },
  },
  json: true,
  examples: ['kiln rollback --env dev', 'kiln rollback api-http-dev --env dev', 'kiln rollback --env dev --dry-run'],
  async run(ctx) {
    const env = requireEnv(ctx);
    const dryRun = ctx.options['dry-run'] === true;
    // A dry run always asks the control plane (kubernetes environments say it is not there yet):
    // the local kubernetes path would roll back for real.
    const onKube = dryRun ? null : await kubeRollback(ctx, env, ctx.positionals[0]);
    if (onKube !== null) return onKube;
    const client = new ApiClient(findKilnDir(ctx.cwd));
    const body = { env, ...(ctx.positionals[0] ? { cluster: ctx.positionals[0] } : {}), ...(dryRun ? { dryRun } : {}) };
    const result = await client.streamCall('rollback', body, (e) => ctx.progress(`  ${e.message}`));
    if (ctx.json) ctx.outJson(result);
    else ctx.out(result.steps.map((s) => `${dryRun ? 'would switch ' : ''}${s.cluster}: ${s.from} -> ${s.to}`).join('\n'));
    return 0;
  },
};
