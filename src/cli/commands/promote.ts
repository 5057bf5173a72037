import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { ApiClient } from '../../server/client.js';
import { findKilnDir } from '../project.js';

export const promoteCommand: CommandDef = {
  name: 'promote',
  summary: 'deploy exactly the release that ran healthy in one environment to another',
  description:
    'Refuses a release no deploy to --from ever completed healthy (every server passed its health\n' +
    'check and the clusters switched), unless --force. The release\'s digest is checked at deploy\n' +
    'time, then it goes through the normal deploy (new groups only for clusters that change).',
  positionals: [{ name: 'release', required: true, description: 'e.g. r7' }],
  options: {
    from: { type: 'string', value: '<env>', description: 'environment it was tested in (required)' },
    to: { type: 'string', value: '<env>', description: 'environment to deploy it to (required)' },
    force: { type: 'boolean', description: 'promote even if it never ran healthy in --from' },
  },
  json: true,
  examples: ['kiln promote r7 --from test-r7 --to prod'],
  async run(ctx) {
    for (const f of ['from', 'to']) {
      if (typeof ctx.options[f] !== 'string') throw new KilnError('USAGE', `missing --${f} <env>`, { location: { flag: `--${f}` } });
    }
    const client = new ApiClient(findKilnDir(ctx.cwd));
    const body = { release: ctx.positionals[0], from: ctx.options.from, to: ctx.options.to, force: ctx.options.force === true };
    const r = await client.stream<Record<string, unknown>>('/v1/promote', body, (e) => ctx.progress(`  ${e.message}`));
    if (ctx.json) ctx.outJson(r);
    else ctx.out(`promoted ${String(r.release)} from ${String(ctx.options.from)} to ${String(r.env)}`);
    return 0;
  },
};
