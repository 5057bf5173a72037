// kiln pause | resume | maintenance on | maintenance off <cluster> --env E: steer one cluster's
// traffic at the proxy while something outside is fixed (server/traffic.ts does the work).
import type { CommandContext, CommandDef } from '../command.js';
import { ApiClient } from '../../server/client.js';
import { findKilnDir } from '../project.js';
import { requireEnv } from '../env-option.js';
import { KilnError } from '../../errors.js';
import { parseDuration } from '../../spec/dsl.js';
import type { TrafficAction, TrafficResult } from '../../server/traffic.js';

const envOption = { env: { type: 'string' as const, short: 'e', value: '<env>', description: 'environment (required)' } };
const clusterArg = [{ name: 'cluster', required: true, description: 'the cluster, e.g. api-http-dev (one with a load balancer)' }];

async function send(ctx: CommandContext, action: TrafficAction, extra: Record<string, unknown> = {}): Promise<number> {
  const env = requireEnv(ctx);
  const cluster = ctx.positionals[0] as string;
  const result = await new ApiClient(findKilnDir(ctx.cwd)).stream<TrafficResult>('/v1/traffic', { env, cluster, action, ...extra }, (e) => ctx.progress(`  ${e.message}`));
  if (ctx.json) ctx.outJson(result);
  else {
    const m = result.mode;
    const parts = [
      m.pausedUntil !== null ? `paused until ${new Date(m.pausedUntil).toISOString()}` : null,
      m.maintenance ? `in maintenance (Retry-After ${m.maintenance.retryAfterS} s)` : null,
    ].filter(Boolean);
    ctx.out(`${cluster}: ${parts.length ? parts.join(', ') : 'serving'}`);
  }
  return 0;
}

export const pauseCommand: CommandDef = {
  name: 'pause',
  summary: 'hold a cluster\'s new requests (in order) until kiln resume, for at most --for',
  description:
    'While something outside is fixed (a database failover, a certificate), the proxy keeps the\n' +
    'cluster\'s new requests waiting instead of failing them; `kiln resume` sends them on in the order\n' +
    'they came. After --for, what still waits and every new request gets 503 with Retry-After, until\n' +
    'resume. WebSocket upgrades are refused (503) while paused. The pause is kept in state.db and in\n' +
    'the proxy\'s saved routes: it survives a restart of either.',
  positionals: clusterArg,
  options: { ...envOption, for: { type: 'string', value: '<duration>', description: 'longest a request waits, e.g. 30s, 5m (default 30s, at most 1h)' } },
  json: true,
  examples: ['kiln pause api-http-prod --env prod --for 2m', 'kiln resume api-http-prod --env prod'],
  async run(ctx) {
    const raw = ctx.options.for;
    let forMs: number | undefined;
    if (typeof raw === 'string') {
      const ms = parseDuration(raw);
      if (ms === null || ms <= 0) throw new KilnError('USAGE', '--for must be a duration such as 30s, 5m or 1h', { location: { flag: '--for' } });
      forMs = ms;
    }
    return send(ctx, 'pause', forMs !== undefined ? { forMs } : {});
  },
};

export const resumeCommand: CommandDef = {
  name: 'resume',
  summary: 'let a paused cluster\'s requests through again, the waiting ones first, in order',
  positionals: clusterArg,
  options: envOption,
  json: true,
  examples: ['kiln resume api-http-prod --env prod'],
  run: (ctx) => send(ctx, 'resume'),
};

export const maintenanceOnCommand: CommandDef = {
  name: 'maintenance on',
  summary: 'answer every request of a cluster with 503, the maintenance page and Retry-After',
  description:
    'The page and Retry-After come from kiln.yaml, environments.<env>.maintenance (page: an HTML file,\n' +
    'read now; retry-after: a duration), else a short built-in page and 60 s. It wins over a pause and\n' +
    'survives a restart of the proxy or the control plane.',
  positionals: clusterArg,
  options: envOption,
  json: true,
  examples: ['kiln maintenance on web-http-prod --env prod', 'kiln maintenance off web-http-prod --env prod'],
  run: (ctx) => send(ctx, 'maintenance-on'),
};

export const maintenanceOffCommand: CommandDef = {
  name: 'maintenance off',
  summary: 'serve a cluster from its servers again after kiln maintenance on',
  positionals: clusterArg,
  options: envOption,
  json: true,
  examples: ['kiln maintenance off web-http-prod --env prod'],
  run: (ctx) => send(ctx, 'maintenance-off'),
};
