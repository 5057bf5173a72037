import type { CommandDef } from '../command.js';
import { kubeDeploy } from '../kubernetes.js';
import { ApiClient } from '../../server/client.js';
import type { DeployPlan } from '../../deploy/plan.js';
import { findKilnDir } from '../project.js';
import { requireEnv } from '../env-option.js';
import { planChanges, planView } from '../plan-view.js';
import { EXIT_DIFFERENCES, EXIT_FAILED } from '../exit-codes.js';

export const deployCommand: CommandDef = {
  name: 'deploy',
  summary: 'deploy a release to an environment: new servers, health checks, one switch',
  description:
    'Creates a new server group per cluster, waits until every server is healthy, then switches\n' +
    'every cluster of the release to its new group in one step. The previous group drains and is\n' +
    'kept for `kiln rollback`; older ones are destroyed. If any server fails its health check the\n' +
    'new groups are destroyed and nothing is switched. With --dry-run --exit-code the exit status\n' +
    'says whether the deploy would change anything: 0 nothing, 3 something (1 it failed).\n' +
    'With --canary the new groups first take a share of the requests step by step, compared with\n' +
    'the serving groups by the roles\' strategy.canary gates (docs/canary.md); kiln rollout status|promote|pause|resume|abort steer it.',
  positionals: [{ name: 'release', required: true, description: 'release to deploy, e.g. r3' }],
  options: {
    env: { type: 'string', short: 'e', value: '<env>', description: 'environment from kiln.yaml (required)' },
    'dry-run': { type: 'boolean', description: 'print the plan (groups, servers, flags; with --canary the steps and gates) and change nothing' },
    'exit-code': { type: 'boolean', description: 'with --dry-run: exit 3 when the plan changes something, 0 when not' },
    canary: { type: 'boolean', description: 'go through the roles\' strategy.canary steps and gates instead of one switch (docs/canary.md); exits 1 when a gate aborts it' },
  },
  json: true,
  examples: ['kiln deploy r1 --env dev', 'kiln deploy r3 --env prod --canary', 'kiln deploy r3 --env prod --canary --dry-run', 'kiln deploy r2 --env dev --dry-run --json', 'kiln deploy r2 --env prod --dry-run --exit-code || echo "r2 changes prod"'],
  async run(ctx) {
    const env = requireEnv(ctx);
    const dryRun = ctx.options['dry-run'] === true;
    const canary = ctx.options.canary === true;
    // A canary runs through Kiln's proxy: the control plane refuses it for a kubernetes environment.
    const onKube = canary ? null : await kubeDeploy(ctx, env, String(ctx.positionals[0]), dryRun);
    if (onKube !== null) return onKube;
    const client = new ApiClient(findKilnDir(ctx.cwd));
    const body = { release: ctx.positionals[0], env, dryRun, ...(canary ? { canary: true } : {}) };
    const result = await client.stream<Record<string, unknown>>('/v1/deploy', body, (e) => ctx.progress(`  ${e.message}`));
    const plan = dryRun ? (result.plan as DeployPlan) : undefined;
    if (ctx.json) ctx.outJson(plan ? { ...result, plan: planView(plan) } : result);
    else if (typeof result.text === 'string') ctx.out(result.text);
    else if (result.outcome === 'aborted') {
      const f = result.failure as { cluster: string; lines: string[] } | undefined;
      ctx.out([`canary of ${String(result.release)} in ${String(result.env)} aborted${f ? ` (${f.cluster})` : ''}; the stable groups serve every request`, ...(f?.lines ?? []).map((l) => `  ${l}`)].join('\n'));
    } else if (result.outcome === 'interrupted') {
      ctx.out(`the control plane stopped during the canary of ${String(result.release)}; it goes on when \`kiln server\` runs again (see kiln rollout status <cluster> --env ${env})`);
    } else if (result.outcome === 'promoted') ctx.out(`deployed ${String(result.release)} to ${String(result.env)} (canary passed every step)`);
    else ctx.out(`deployed ${String(result.release)} to ${String(result.env)}`);
    if (plan && ctx.options['exit-code'] === true) return planChanges(plan, result.data as Array<{ entries: unknown[] }>) ? EXIT_DIFFERENCES : 0;
    return result.outcome === 'aborted' || result.outcome === 'interrupted' ? EXIT_FAILED : 0;
  },
};
