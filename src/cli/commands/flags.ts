import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { ApiClient } from '../../server/client.js';
import { findSpecFile, loadSpec } from '../../spec/load.js';
import { openStore } from '../../store/init.js';
import { listReleases } from '../../release/index.js';
import type { DeployPlan } from '../../deploy/plan.js';
import { findKilnDir } from '../project.js';
import { argv, planResolver } from '../../runtime/args.js';
import { requireEnv } from '../env-option.js';
import { renderedFlags } from '../plan-view.js';

export const flagsCommand: CommandDef = {
  name: 'flags',
  summary: 'the flags a service\'s servers get in an environment, rendered (secrets shown as paths)',
  description:
    'Renders the release\'s flags for the environment exactly as a deploy would (the control plane\n' +
    'computes the plan, nothing is started). ${port} and ${log.file} are given to each server when it\n' +
    'starts. A secret appears as the path of its file, never its value. Flags are written in the\n' +
    'service\'s flags-style (--name=value by default), positional arguments after them.',
  positionals: [{ name: 'service', required: true, description: 'service from kiln.yaml' }],
  options: {
    env: { type: 'string', short: 'e', value: '<env>', description: 'environment (required)' },
    release: { type: 'string', short: 'r', value: '<release>', description: 'release to render', default: 'the newest' },
  },
  json: true,
  examples: ['kiln flags api --env prod'],
  async run(ctx) {
    const env = requireEnv(ctx);
    const service = ctx.positionals[0] as string;
    let release = typeof ctx.options.release === 'string' ? ctx.options.release : undefined;
    if (!release) {
      const store = openStore(loadSpec(findSpecFile(ctx.cwd)).dir);
      try {
        release = listReleases(store.db).at(-1)?.name;
      } finally {
        store.db.close();
      }
      if (!release) throw new KilnError('RELEASE_NOT_FOUND', 'there is no release yet', { hint: 'kiln release create' });
    }
    const client = new ApiClient(findKilnDir(ctx.cwd));
    const { plan } = await client.stream<{ plan: DeployPlan }>('/v1/deploy', { release, env, dryRun: true }, () => undefined);
    const clusters = plan.clusters.filter((c) => c.service === service);
    if (!clusters.length) {
      throw new KilnError('SERVICE_NOT_FOUND', `release ${release} has no service "${service}"`, {
        hint: `services: ${[...new Set(plan.clusters.map((c) => c.service))].join(', ')}`,
      });
    }
    // `flags`: the rendered flags as argv words (the one shape, as in deploy --dry-run --json);
    // `args`: the plan's typed form with the files a server gets; `command`: the whole command line
    // as the process runtime starts it, with the per-server values as ${port} and ${log.file}.
    const view = clusters.map((c) => ({ cluster: c.cluster, role: c.role, run: c.run, flags: renderedFlags(c), args: c.args, command: [...c.run, ...argv(c.args, planResolver)] }));
    if (ctx.json) ctx.outJson({ release, env, service, clusters: view });
    else {
      const lines = [`${service} in ${env} (${release}):`];
      for (const v of view) lines.push(`  ${v.cluster}: ${v.command.join(' ')}`);
      lines.push('  (${port} and ${log.file} are set for each server when it starts)');
      ctx.out(lines.join('\n'));
    }
    return 0;
  },
};
