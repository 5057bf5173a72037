import type { CommandDef } from '../command.js';
import { kubeStatus } from '../kubernetes.js';
import { ApiClient } from '../../server/client.js';
import { formatStatus, type StatusView } from '../../server/status.js';
import { findKilnDir } from '../project.js';
import { colourEnabled, paint, type Colour } from '../colour.js';

const STATE_COLOUR: Record<string, Colour> = { healthy: 'green', active: 'green', succeeded: 'green', starting: 'yellow', draining: 'yellow', unhealthy: 'red', failed: 'red' };

export const statusCommand: CommandDef = {
  name: 'status',
  summary: 'clusters, server groups (active / draining / disabled) and servers with their health',
  positionals: [],
  options: { env: { type: 'string', short: 'e', value: '<env>', description: 'only this environment' } },
  json: true,
  examples: ['kiln status --env dev', 'kiln status --env dev --json'],
  async run(ctx) {
    const env = typeof ctx.options.env === 'string' ? ctx.options.env : undefined;
    const onKube = await kubeStatus(ctx, env);
    if (onKube !== null) return onKube;
    const client = new ApiClient(findKilnDir(ctx.cwd));
    const view: StatusView = await client.read('status', env ? { env } : {});
    if (ctx.json) ctx.outJson(view);
    else {
      const on = colourEnabled(process.stdout);
      ctx.out(formatStatus(view, (state, text) => paint(STATE_COLOUR[state] ?? 'dim', text, on && state in STATE_COLOUR)));
    }
    return 0;
  },
};
