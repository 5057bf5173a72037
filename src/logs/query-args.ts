// `kiln logs`'s filters (cluster, --env, --build, --server, --stream, --since, --until, --grep,
// --lines) turned into GET /v1/logs's query, checked: one function for the CLI and the dashboard's
// logs page, so both accept and refuse the same input with the same messages.
import { KilnError } from '../errors.js';
import { parseGrep } from './query.js';
import { parseTimeArg } from './time.js';
import { LOG_STREAMS, type LogStream } from './types.js';

export const DEFAULT_LINES = 100;

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
  // 0 shows no stored lines: with -f, only new ones (as tail -f -n 0).
  if (!/^\d+$/.test(lines)) throw new KilnError('USAGE', `--lines ${lines} must be a whole number (0 or more)`, { location: { flag: '--lines' } });
  q.set('limit', lines);
  return q;
}
