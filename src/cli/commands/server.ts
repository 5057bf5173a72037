import type { CommandDef } from '../command.js';
import { ControlPlane } from '../../server/control-plane.js';
import { KilnError } from '../../errors.js';

export const serverCommand: CommandDef = {
  name: 'server',
  summary: 'run the control plane (API, reconciler) and start or adopt the proxy',
  description:
    'Runs in the foreground until SIGTERM or Ctrl-C. Stopping it stops nothing that serves: servers and\n' +
    '`kiln proxy` are separate processes, and the next `kiln server` adopts them.',
  positionals: [],
  options: {
    listen: { type: 'string', value: '<host:port>', description: 'also serve the API and the dashboard (docs/dashboard.md) on loopback TCP (the unix socket .kiln/run/kiln.sock is always on)' },
  },
  json: true,
  examples: ['kiln server &', 'kiln server --listen 127.0.0.1:7070', 'kiln server --json   # one {"ready": …} line on stdout once it serves'],
  async run(ctx) {
    let tcp: { host: string; port: number } | undefined;
    if (typeof ctx.options.listen === 'string') {
      const m = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost):(\d+)$/.exec(ctx.options.listen);
      if (!m) {
        throw new KilnError('USAGE', `--listen must be a loopback address and port, e.g. 127.0.0.1:7070 (got "${ctx.options.listen}")`, {
          location: { flag: '--listen' },
        });
      }
      tcp = { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
    }
    const log = (m: string): void => {
      process.stderr.write(`${new Date().toISOString()} ${m}\n`);
    };
    const cp = await ControlPlane.start({ projectDir: ctx.cwd, ...(tcp ? { tcp } : {}), log });
    log(`kiln server ready: API on ${cp.paths.apiSocket}${tcp ? ` and ${tcp.host}:${tcp.port}` : ''}`);
    // A supervisor or script waits for this line instead of polling the socket.
    if (ctx.json) process.stdout.write(JSON.stringify({ ready: true, pid: process.pid, socket: cp.paths.apiSocket, ...(tcp ? { tcp: `${tcp.host}:${tcp.port}` } : {}) }) + '\n');
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      // `kiln down`: answer the request first, then stop.
      cp.onShutdown = () => setTimeout(stop, 50);
    });
    log('stopping the control plane (servers and proxy keep running)');
    await cp.stop();
    return 0;
  },
};
