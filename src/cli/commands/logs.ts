import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { ApiClient } from '../../server/client.js';
import type { LogsResponse } from '../../logs/api.js';
import { followLogsApi } from '../../logs/client.js';
import { formatLogLine } from '../../logs/query.js';
import { findKilnDir } from '../project.js';
import { readLocalLogs } from '../../logs/local.js';
import { findSpecFile, loadSpec } from '../../spec/load.js';

import { DEFAULT_LINES, logsQuery } from '../../logs/query-args.js';

export const logsCommand: CommandDef = {
  name: 'logs',
  summary: "servers' logs (log file, stdout, stderr): filter by cluster, build, server, time and text; -f follows",
  description:
    'Shows the newest lines Kiln collected from every server of a cluster (its --log-file, stdout\n' +
    'and stderr), oldest first. --grep takes a substring, or /regex/flags. With -f, keeps printing\n' +
    'new lines as servers write them, until Ctrl-C. On a terminal, control characters and escape\n' +
    'sequences in a line are shown escaped (\\x1b), never obeyed; piped output and --json keep the text.\n' +
    '--json prints one JSON object per line (NDJSON): id, ts, project, env, service, role, cluster,\n' +
    'group, server, stream, text. A cluster, build or server that does not exist is an error listing\n' +
    'those that do. With no control plane running, shows the lines collected until it stopped.',
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
    lines: { type: 'string', short: 'n', value: '<n>', description: 'how many of the newest lines to show (0: none; with -f, only new lines)', default: String(DEFAULT_LINES) },
  },
  json: true,
  examples: [
    'kiln logs web-http-dev',
    'kiln logs web-http-dev -f --grep ERROR',
    'kiln logs web-http-dev --since 10m --build v004 --json',
    "kiln logs --env prod --grep '/timeout|refused/i' -n 500",
    'kiln logs api-http-dev -f -n 0',
  ],
  async run(ctx) {
    const q = logsQuery(ctx.positionals[0], ctx.options);
    const kilnDir = findKilnDir(ctx.cwd);
    // `kiln logs … | head`: once the reader has gone, stop quietly (as cat, tail and git do).
    const ac = new AbortController();
    quietWhenOutputCloses(() => ac.abort());
    // Escape sequences an app wrote are shown, not obeyed, when a person reads them on a terminal.
    const terminal = process.stdout.isTTY === true;
    const print = (l: Parameters<typeof formatLogLine>[0]): void => {
      if (!ac.signal.aborted) ctx.out(formatLogLine(l, ctx.json, { terminal }));
    };
    if (ctx.options.follow === true) {
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await followLogsApi(kilnDir, q, print, ac.signal);
      } catch (e) {
        // Following needs the control plane: it is what collects new lines.
        if (e instanceof KilnError && e.code === 'SERVER_UNREACHABLE') {
          throw new KilnError('SERVER_UNREACHABLE', `${e.message}: nothing collects new lines to follow`, {
            hint: 'start it with `kiln server`; without -f, `kiln logs` shows the lines collected until it stopped',
          });
        }
        throw e;
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
      return 0;
    }
    let res: LogsResponse;
    try {
      res = await new ApiClient(kilnDir).get<LogsResponse>(`/v1/logs?${q}`);
    } catch (e) {
      if (!(e instanceof KilnError && e.code === 'SERVER_UNREACHABLE')) throw e;
      // No control plane: the lines it collected until it stopped are in the local store.
      ctx.progress('no control plane is running: showing the lines collected until it stopped (.kiln/logs.db)');
      res = readLocalLogs(loadSpec(findSpecFile(ctx.cwd)), q);
    }
    for (const l of res.lines) print(l);
    return 0;
  },
};

/**
 * A closed stdout (EPIPE: the reader, e.g. `head`, has exited) ends the command quietly with
 * exit 0 instead of an unhandled error; `onClose` stops what is still producing lines.
 */
function quietWhenOutputCloses(onClose: () => void): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    onClose();
    process.exit(0);
  });
}

export { logsQuery } from '../../logs/query-args.js';
