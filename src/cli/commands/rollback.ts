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
  options: { env: { type: 'string', short: 'e', value: '<env>', description: 'environment (required)' } },
  json: true,
  examples: ['kiln rollback --env dev', 'kiln rollback api-http-dev --env dev'],
  async run(ctx) {
    const env = requireEnv(ctx);
    const onKube = await kubeRollback(ctx, env, ctx.positionals[0]);
    if (onKube !== null) return onKube;
    const client = new ApiClient(findKilnDir(ctx.cwd));
    const body = { env, ...(ctx.positionals[0] ? { cluster: ctx.positionals[0] } : {}) };
    const result = await client.streamCall('rollback', body, (e) => ctx.progress(`  ${e.message}`));
    if (ctx.json) ctx.outJson(result);
    else ctx.out(result.steps.map((s) => `${s.cluster}: ${s.from} -> ${s.to}`).join('\n'));
    return 0;
  },
};
