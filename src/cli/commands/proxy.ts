import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { proxyMain } from '../../proxy/main.js';

export const proxyCommand: CommandDef = {
  name: 'proxy',
  summary: 'run the data plane: the role-named load balancer (started by `kiln server`)',
  description:
    'Routes HTTP by Host header to each cluster\'s active server group, and serves each cluster on its\n' +
    'own loopback port. Its route table comes from the control plane over the admin socket and is\n' +
    'saved atomically, so a restart loses no route. You rarely start it by hand.',
  positionals: [],
  options: {
    listen: { type: 'string', value: '<host:port>', description: 'public listener (required)' },
    admin: { type: 'string', value: '<socket>', description: 'admin unix socket (required)' },
    routes: { type: 'string', value: '<file>', description: 'where the route table is saved (required)' },
  },
  async run(ctx) {
    const need = (k: string): string => {
      const v = ctx.options[k];
      if (typeof v !== 'string') throw new KilnError('USAGE', `missing --${k}`, { location: { flag: `--${k}` } });
      return v;
    };
    const listen = need('listen');
    const m = /^(.+):(\d+)$/.exec(listen);
    if (!m) throw new KilnError('USAGE', `--listen must be host:port (got "${listen}")`, { location: { flag: '--listen' } });
    await proxyMain({ listenHost: m[1]!, listenPort: Number(m[2]), adminSocket: need('admin'), routesFile: need('routes') });
    return 0;
  },
};
