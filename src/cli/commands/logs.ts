import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { ApiClient } from '../../server/client.js';
import type { LogsResponse } from '../../logs/api.js';
import { followLogsApi } from '../../logs/client.js';
import { formatLogLine, parseGrep } from '../../logs/query.js';
import { parseTimeArg } from '../../logs/time.js';
import { LOG_STREAMS, type LogStream } from '../../logs/types.js';
import { findKilnDir } from '../project.js';

const DEFAULT_LINES = 100;

export const logsCommand: CommandDef = {
  name: 'logs',
  summary: "servers' logs (log file, stdout, stderr): filter by cluster, build, server, time and text; -f follows",
  description:
    'Shows the newest lines Kiln collected from every server of a cluster (its --log-file, stdout\n' +
    'and stderr), oldest first. --grep takes a substring, or /regex/flags. With -f, keeps printing\n' +
    'new lines as servers write them, until Ctrl-C. On a terminal, control characters and escape\n' +
    'sequences in a line are shown escaped (\\x1b), never obeyed; piped output and --json keep the text.',
  positionals: [{ name: 'cluster', required: false, description: 'cluster, e.g. web-http-dev (all when omitted)' }],
  options: {
    env: { type: 'string', short: 'e', value: '<env>', description: 'only this environment' },
    follow: { type: 'boolean', short: 'f', description: 'keep printing new lines until Ctrl-C' },
    since: { type: 'string', value: '<time>', description: 'lines from this time on: a duration back (10m, 1h30m) or an ISO time' },
    until: { type: 'string', value: '<time>', description: 'lines before this time (same forms as --since)' },
    grep: { type: 'string', short: 'g', value: '<text>', description: 'lines containing this text, or matching /regex/flags' },
    build: { type: 'string', value: '<vNNN>', description: 'only the server group of this build, e.g. v004 (needs <cluster>)' },
    server: { type: 'string', value: '<server>', description: 'only this server, e.g. web-http-dev-v004-1' },
    stream: { type: 'string', value: '<stream>', description: 'only log, stdout, stderr, or kiln (what Kiln says about a server\'s logs, e.g. a skipped file)' },
    lines: { type: 'string', short: 'n', value: '<n>', description: 'how many of the newest lines to show', default: String(DEFAULT_LINES) },
  },
  json: true,
  examples: [
    'kiln logs web-http-dev',
    'kiln logs web-http-dev -f --grep ERROR',
    'kiln logs web-http-dev --since 10m --build v004 --json',
    "kiln logs --env prod --grep '/timeout|refused/i' -n 500",
  ],
  async run(ctx) {
    const q = logsQuery(ctx.positionals[0], ctx.options);
    const kilnDir = findKilnDir(ctx.cwd);
    // Escape sequences an app wrote are shown, not obeyed, when a person reads them on a terminal.
    const terminal = process.stdout.isTTY === true;
    const print = (l: Parameters<typeof formatLogLine>[0]): void => ctx.out(formatLogLine(l, ctx.json, { terminal }));
    if (ctx.options.follow === true) {
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await followLogsApi(kilnDir, q, print, ac.signal);
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
      return 0;
    }
    const res = await new ApiClient(kilnDir).get<LogsResponse>(`/v1/logs?${q}`);
    for (const l of res.lines) print(l);
    return 0;
  },
};

/** The query string of GET /v1/logs for the command's arguments; bad input is a USAGE error here. */
export function logsQuery(cluster: string | undefined, o: Record<string, unknown>, now: number = Date.now()): URLSearchParams {
  const q = new URLSearchParams();
  const str = (name: string): string | undefined => (typeof o[name] === 'string' ? (o[name] as string) : undefined);
  if (cluster) q.set('cluster', cluster);
  const env = str('env');
  if (env) q.set('env', env);
  const build = str('build');
  if (build) {
    if (!cluster) throw new KilnError('USAGE', '--build needs a cluster: kiln logs <cluster> --build v004', { location: { flag: '--build' } });
    const m = /^v?(\d+)$/.exec(build);
    if (!m) throw new KilnError('USAGE', `--build ${build} is not a build: use v004 (or 4)`, { location: { flag: '--build' } });
    q.set('group', `${cluster}-v${m[1]!.padStart(3, '0')}`);
  }
  const server = str('server');
  if (server) q.set('server', server);
  const stream = str('stream');
  if (stream) {
    if (!LOG_STREAMS.includes(stream as LogStream)) throw new KilnError('USAGE', `--stream ${stream} is not one of ${LOG_STREAMS.join(', ')}`, { location: { flag: '--stream' } });
    q.set('stream', stream);
  }
  // Times are resolved here, against this machine's clock, and sent as ISO times.
  for (const name of ['since', 'until']) {
    const v = str(name);
    if (v) q.set(name, parseTimeArg(v, `--${name}`, now).toISOString());
  }
  const grep = str('grep');
  if (grep) {
    parseGrep(grep);
    q.set('grep', grep);
  }
  const lines = str('lines') ?? String(DEFAULT_LINES);
  if (!/^\d+$/.test(lines) || Number(lines) < 1) throw new KilnError('USAGE', `--lines ${lines} must be a whole number of at least 1`, { location: { flag: '--lines' } });
  q.set('limit', lines);
  return q;
}
