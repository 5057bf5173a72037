import type { CommandDef } from '../command.js';
import { kubeDeploy } from '../kubernetes.js';
import { KilnError } from '../../errors.js';
import { ApiClient } from '../../server/client.js';
import { findKilnDir } from '../project.js';

export const deployCommand: CommandDef = {
  name: 'deploy',
  summary: 'deploy a release to an environment: new servers, health checks, one switch',
  description:
    'Creates a new server group per cluster, waits until every server is healthy, then switches\n' +
    'every cluster of the release to its new group in one step. The previous group drains and is\n' +
    'kept for `kiln rollback`; older ones are destroyed. If any server fails its health check the\n' +
    'new groups are destroyed and nothing is switched.',
  positionals: [{ name: 'release', required: true, description: 'release to deploy, e.g. r3' }],
  options: {
    env: { type: 'string', short: 'e', value: '<env>', description: 'environment from kiln.yaml (required)' },
    'dry-run': { type: 'boolean', description: 'print the plan (groups, servers, flags) and change nothing' },
  },
  json: true,
  examples: ['kiln deploy r1 --env dev', 'kiln deploy r2 --env dev --dry-run --json'],
  async run(ctx) {
    const env = ctx.options.env;
    if (typeof env !== 'string') throw new KilnError('USAGE', 'missing --env <env>', { location: { flag: '--env' } });
    const onKube = await kubeDeploy(ctx, env, String(ctx.positionals[0]), ctx.options['dry-run'] === true);
    if (onKube !== null) return onKube;
    const client = new ApiClient(findKilnDir(ctx.cwd));
    const body = { release: ctx.positionals[0], env, dryRun: ctx.options['dry-run'] === true };
    const result = await client.stream<Record<string, unknown>>('/v1/deploy', body, (e) => ctx.progress(`  ${e.message}`));
    if (ctx.json) ctx.outJson(result);
    else if (typeof result.text === 'string') ctx.out(result.text);
    else ctx.out(`deployed ${String(result.release)} to ${String(result.env)}`);
    return 0;
  },
};
