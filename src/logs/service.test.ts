import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runPaths } from '../server/paths.js';
import { queryLogs } from './query.js';
import { LogService, serverLogSources } from './service.js';
import { withLogs } from './testkit.js';

test("LogService follows a server's log file, stdout and stderr into .kiln/logs.db, each line tagged", () =>
  withLogs(async (t) => {
    const paths = runPaths(t.dir);
    const files = paths.serverLogs('dev', 'web-http-dev', 'web-http-dev-v002-1');
    mkdirSync(path.dirname(files.log), { recursive: true });
    const logs = LogService.start({ kilnDir: t.dir, log: () => {}, tailer: { pollMs: 20 }, retention: { maxAgeMs: 86_400_000 } });
    logs.setSources(serverLogSources(files, { project: 'shop', env: 'dev', service: 'web', role: 'http', cluster: 'web-http-dev', group: 'web-http-dev-v002', server: 'web-http-dev-v002-1' }));
    const stored = new Promise<void>((resolve) => {
      const check = (): void => {
        if (queryLogs(logs.store).length === 3) resolve();
        else logs.store.events.once('append', check);
      };
      check();
    });
    writeFileSync(files.log, 'from the log file\n');
    writeFileSync(files.stdout, 'from stdout\n');
    writeFileSync(files.stderr, 'from stderr\n');
    await stored;
    const byStream = Object.fromEntries(queryLogs(logs.store).map((l) => [l.stream, `${l.group} ${l.server} ${l.text}`]));
    assert.deepEqual(byStream, {
      log: 'web-http-dev-v002 web-http-dev-v002-1 from the log file',
      stdout: 'web-http-dev-v002 web-http-dev-v002-1 from stdout',
      stderr: 'web-http-dev-v002 web-http-dev-v002-1 from stderr',
    });
    await logs.stop();
  }));
