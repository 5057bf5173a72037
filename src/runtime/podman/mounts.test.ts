// Which host files a server's container sees (issue 4): exactly the secret files its arguments
// name (read-only, one by one) and the directories of SQLite store files (read-write), with the
// arguments naming the paths inside. The files come typed from the plan (runtime/args.ts): a
// path that is only text is never mounted. Asserted on the podman command as data; nothing runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodmanRuntime } from './podman-runtime.js';
import type { ContainerLaunch } from './handle.js';
import type { ServerArgs } from '../args.js';
import { LOG_FILE, PORT, secret, serverArgs, store } from '../testkit.js';

const DIGEST = `sha256:${'cd'.repeat(32)}` as const;
const launch = (args: ServerArgs): ContainerLaunch => ({
  project: 'shop',
  env: 'staging',
  cluster: 'api-http-staging',
  group: 'api-http-staging-v001',
  name: 'api-http-staging-v001-1',
  appDir: '/p/.kiln/apps/x',
  run: ['node', 'server.js'],
  args,
  workDir: '/p/.kiln/run/servers/api-http-staging-v001-1',
  logFile: '/p/.kiln/logs/staging/api-http-staging/api-http-staging-v001-1.log',
  stdoutFile: '/p/.kiln/logs/staging/api-http-staging/api-http-staging-v001-1.stdout',
  stderrFile: '/p/.kiln/logs/staging/api-http-staging/api-http-staging-v001-1.stderr',
  port: 4100,
  image: { layout: '/p/.kiln/oci', ref: 'api', digest: DIGEST },
});
const volumes = (args: string[]): string[] => args.flatMap((a, i) => (args[i - 1] === '--volume' ? [a] : []));
const tail = (args: string[], n: number): string[] => args.slice(-n);

test('secret files the arguments name are mounted read-only, alone; the flags name the paths inside', () => {
  const rt = new PodmanRuntime({ store: '/p/.kiln' });
  const { args } = rt.command(
    launch(serverArgs([
      ['db', secret('orders_url', '/p/.kiln/secrets/staging/orders_url')],
      ['log-file', LOG_FILE],
      ['port', PORT],
      ['token-file', secret('web_token', '/p/.kiln/secrets/staging/web_token')],
    ])),
  );
  assert.deepEqual(volumes(args), [
    '/p/.kiln/logs/staging/api-http-staging:/var/log/kiln:rw',
    '/p/.kiln/secrets/staging/orders_url:/run/kiln/secrets/orders_url:ro',
    '/p/.kiln/secrets/staging/web_token:/run/kiln/secrets/web_token:ro',
  ]);
  assert.deepEqual(tail(args, 4), [
    '--db=/run/kiln/secrets/orders_url',
    '--log-file=/var/log/kiln/api-http-staging-v001-1.log',
    '--port=4100',
    '--token-file=/run/kiln/secrets/web_token',
  ]);
  // A path that is only text (not a file the plan gave the server) is neither mounted nor rewritten.
  const other = rt.command(launch(serverArgs([['x', '/etc/passwd'], ['y', '/p/.kiln/secrets/prod/orders_url']]))).args;
  assert.equal(volumes(other).length, 1);
  assert.deepEqual(tail(other, 2), ['--x=/etc/passwd', '--y=/p/.kiln/secrets/prod/orders_url']);
});

test('a SQLite store file: its directory is mounted read-write (journal beside it), default or custom path', () => {
  const rt = new PodmanRuntime({ store: '/p/.kiln' });
  const byDefault = rt.command(launch(serverArgs([['db', store('orders', '/p/.kiln/data/staging/orders.db')]]))).args;
  assert.ok(volumes(byDefault).includes('/p/.kiln/data/staging:/run/kiln/data/orders:rw'));
  assert.deepEqual(tail(byDefault, 1), ['--db=/run/kiln/data/orders/orders.db']);
  const custom = rt.command(launch(serverArgs([['db', store('orders', '/srv/shop/orders.sqlite')]]))).args;
  assert.ok(volumes(custom).includes('/srv/shop:/run/kiln/data/orders:rw'));
  assert.deepEqual(tail(custom, 1), ['--db=/run/kiln/data/orders/orders.sqlite']);
});

test('defect 13: a secret version file is mounted alone, read-only, under the secret\'s own name', () => {
  const rt = new PodmanRuntime({ store: '/p/.kiln' });
  const version = `/p/.kiln/secrets/staging/web_token@${'3f'.repeat(16)}`;
  const { args } = rt.command(launch(serverArgs([['token-file', secret('web_token', version)]])));
  assert.deepEqual(volumes(args).slice(1), [`${version}:/run/kiln/secrets/web_token:ro`]);
  assert.deepEqual(tail(args, 1), ['--token-file=/run/kiln/secrets/web_token']);
});

test('a file named twice, or inside a longer value, is mounted once; the style and positional arguments carry the paths inside', () => {
  const rt = new PodmanRuntime({ store: '/p/.kiln' });
  const token = secret('web_token', '/p/.kiln/secrets/staging/web_token');
  const { args } = rt.command(launch(serverArgs([['a', 'file:', token], ['p', PORT], ['quiet', true]], 'single-dash', [[token], ['public']])));
  assert.deepEqual(volumes(args).slice(1), ['/p/.kiln/secrets/staging/web_token:/run/kiln/secrets/web_token:ro']);
  assert.deepEqual(tail(args, 7), ['-a', 'file:/run/kiln/secrets/web_token', '-p', '4100', '-quiet', '/run/kiln/secrets/web_token', 'public']);
});
