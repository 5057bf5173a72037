import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { proxyMain } from '../../proxy/main.js';
import { parseDuration } from '../../spec/dsl.js';
import { isLoopbackHost } from '../../util/loopback.js';

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
    metrics: { type: 'string', value: '<host:port>', description: 'also serve Prometheus metrics at http://<host:port>/metrics (kiln.yaml metrics.proxy-port); a loopback address unless --metrics-allow-public' },
    'metrics-allow-public': { type: 'boolean', description: 'let --metrics be an address other hosts reach (kiln.yaml metrics.allow-public): the metrics carry no authentication' },
    'tunnel-idle-timeout': {
      type: 'string',
      value: '<duration>',
      description: 'close an upgraded (WebSocket) connection after no bytes either way for this long (default 1h; 0s: never)',
    },
  },
  // A daemon: its log goes to stderr in any case; --json is taken (as by every command) and
  // prints one {"stopped": true} line when it ends.
  json: true,
  async run(ctx) {
    const need = (k: string): string => {
      const v = ctx.options[k];
      if (typeof v !== 'string') throw new KilnError('USAGE', `missing --${k}`, { location: { flag: `--${k}` } });
      return v;
    };
    const listen = need('listen');
    const m = /^(.+):(\d+)$/.exec(listen);
    if (!m) throw new KilnError('USAGE', `--listen must be host:port (got "${listen}")`, { location: { flag: '--listen' } });
    const idle = ctx.options['tunnel-idle-timeout'];
    let tunnelIdleTimeoutMs: number | undefined;
    if (typeof idle === 'string') {
      const ms = parseDuration(idle);
      if (ms === null) {
        throw new KilnError('USAGE', `--tunnel-idle-timeout must be a duration such as 90s, 30m or 1h (got "${idle}")`, {
          location: { flag: '--tunnel-idle-timeout' },
        });
      }
      tunnelIdleTimeoutMs = ms;
    }
    let metrics: { host: string; port: number; allowPublic: boolean } | undefined;
    if (typeof ctx.options.metrics === 'string') {
      const mm = /^(.+):(\d+)$/.exec(ctx.options.metrics);
      if (!mm || Number(mm[2]) > 65535) {
        throw new KilnError('USAGE', `--metrics must be host:port (got "${ctx.options.metrics}")`, { location: { flag: '--metrics' } });
      }
      const host = mm[1]!.replace(/^\[|\]$/g, '');
      const allowPublic = ctx.options['metrics-allow-public'] === true;
      // Refused before anything listens, naming the flag (the listener refuses it too).
      if (!isLoopbackHost(host) && !allowPublic) {
        throw new KilnError('LISTENER_NOT_LOOPBACK', `${ctx.options.metrics} is not a loopback address: the metrics carry no authentication and name every cluster and server group`, {
          location: { flag: '--metrics' },
          hint: 'use 127.0.0.1:<port>, or add --metrics-allow-public (kiln.yaml metrics.allow-public: true) to serve them on a network only your Prometheus can reach',
        });
      }
      metrics = { host, port: Number(mm[2]), allowPublic };
    } else if (ctx.options['metrics-allow-public'] === true) {
      throw new KilnError('USAGE', '--metrics-allow-public needs --metrics <host:port>', { location: { flag: '--metrics-allow-public' } });
    }
    await proxyMain({
      listenHost: m[1]!,
      listenPort: Number(m[2]),
      adminSocket: need('admin'),
      routesFile: need('routes'),
      ...(tunnelIdleTimeoutMs !== undefined ? { tunnelIdleTimeoutMs } : {}),
      ...(metrics ? { metrics } : {}),
    });
    if (ctx.json) ctx.outJson({ stopped: true });
    return 0;
  },
};
