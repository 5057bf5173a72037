import type { CommandDef } from '../command.js';
import { kubeDown } from '../kubernetes.js';
import { existsSync } from 'node:fs';
import { ApiClient } from '../../server/client.js';
import { downOffline } from '../../server/down-offline.js';
import { runPaths } from '../../server/paths.js';
import { KilnError } from '../../errors.js';
import { findKilnDir } from '../project.js';

export const downCommand: CommandDef = {
  name: 'down',
  summary: 'destroy the server groups of an environment; without --env, stop everything of the project',
  description:
    'With --env, every server group of that environment is taken out of the proxy and its servers\n' +
    'stop. Without it, all environments go down, then the proxy and the control plane stop.\n' +
    'Works through the control plane when one runs, else directly on .kiln/. Either way it takes the\n' +
    'deploy lock of every environment it stops first, so it never races a deploy or rollback: while one\n' +
    'runs, down is refused with who holds the lock and since when (and nothing changes).',
  positionals: [],
  options: { env: { type: 'string', short: 'e', value: '<env>', description: 'only this environment' } },
  json: true,
  examples: ['kiln down --env dev', 'kiln down'],
  async run(ctx) {
    const kilnDir = findKilnDir(ctx.cwd);
    const env = typeof ctx.options.env === 'string' ? ctx.options.env : undefined;
    const onKube = await kubeDown(ctx, env);
    if (onKube !== null) return onKube;
    let result: unknown;
    if (existsSync(runPaths(kilnDir).apiSocket)) {
      try {
        result = await new ApiClient(kilnDir).stream('/v1/down', env ? { env } : {}, (e) => ctx.progress(`  ${e.message}`));
      } catch (e) {
        if (!(e instanceof KilnError && e.code === 'SERVER_UNREACHABLE')) throw e;
        result = await downOffline(ctx.cwd, env, (m) => ctx.progress(`  ${m}`));
      }
    } else result = await downOffline(ctx.cwd, env, (m) => ctx.progress(`  ${m}`));
    if (ctx.json) ctx.outJson(result);
    else ctx.out(env ? `${env} is down` : 'everything is down: servers, proxy and control plane stopped');
    return 0;
  },
};
