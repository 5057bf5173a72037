// Issue 11, defect 2: a container gets mounted only the log directory it owns. The directory is
// derived from the real .kiln layout (runPaths), the mount read off the podman command as data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runPaths } from '../../server/paths.js';
import { PodmanRuntime } from './podman-runtime.js';
import type { ContainerLaunch } from './handle.js';
import { LOG_FILE, serverArgs } from '../testkit.js';

const DIGEST = `sha256:${'ab'.repeat(32)}` as const;
const paths = runPaths('/p/.kiln');

function launch(name: string): ContainerLaunch {
  const logs = paths.serverLogs('prod', 'api-http-prod', name);
  return {
    project: 'shop', env: 'prod', cluster: 'api-http-prod', group: 'api-http-prod-v001', name,
    appDir: '/p/.kiln/apps/x', run: ['node', 'server.js'], args: serverArgs([['log-file', LOG_FILE]]),
    workDir: paths.serverDir(name), logFile: logs.log, stdoutFile: logs.stdout, stderrFile: logs.stderr,
    image: { layout: '/p/.kiln/oci', ref: 'api', digest: DIGEST },
  };
}

const inside = (dir: string, file: string): boolean => !path.relative(dir, file).startsWith('..');

test('defect 2: a container is mounted only its own log directory, not its siblings\' logs nor its stdout/stderr files', () => {
  const rt = new PodmanRuntime({ store: '/p/.kiln' });
  const { args } = rt.command(launch('api-http-prod-v001-1'));
  const mounts = args.flatMap((a, i) => (args[i - 1] === '--volume' ? [a] : []));
  const logMount = mounts.find((m) => m.endsWith(':/var/log/kiln:rw'));
  assert.ok(logMount, `no log mount in ${JSON.stringify(mounts)}`);
  const host = logMount.split(':')[0]!;
  const mine = paths.serverLogs('prod', 'api-http-prod', 'api-http-prod-v001-1');
  const sibling = paths.serverLogs('prod', 'api-http-prod', 'api-http-prod-v001-2');
  assert.ok(inside(host, mine.log), 'its own --log-file is in the mount');
  for (const f of [sibling.log, sibling.stdout, mine.stdout, mine.stderr]) assert.ok(!inside(host, f), `${f} is reachable through the mount ${host}`);
  // The flag names the file as the container sees it.
  assert.ok(args.includes('--log-file=/var/log/kiln/api-http-prod-v001-1.log'));
});
