// Which host files a server's container sees (issue 4): exactly the secret files its flags name
// (read-only, one by one) and the directories of SQLite store files (read-write), with the flags
// rewritten to the paths inside. Asserted on the podman command as data; no container is run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodmanRuntime } from './podman-runtime.js';
import type { ContainerLaunch } from './handle.js';

const DIGEST = `sha256:${'cd'.repeat(32)}` as const;
const launch = (flags: string[]): ContainerLaunch => ({
  project: 'shop',
  env: 'staging',
  cluster: 'api-http-staging',
  group: 'api-http-staging-v001',
  name: 'api-http-staging-v001-1',
  appDir: '/p/.kiln/apps/x',
  run: ['node', 'server.js'],
  flags,
  workDir: '/p/.kiln/run/servers/api-http-staging-v001-1',
  logFile: '/p/.kiln/logs/staging/api-http-staging/api-http-staging-v001-1.log',
  stdoutFile: '/p/.kiln/logs/staging/api-http-staging/api-http-staging-v001-1.stdout',
  stderrFile: '/p/.kiln/logs/staging/api-http-staging/api-http-staging-v001-1.stderr',
  image: { layout: '/p/.kiln/oci', ref: 'api', digest: DIGEST },
});
const volumes = (args: string[]): string[] => args.flatMap((a, i) => (args[i - 1] === '--volume' ? [a] : []));
const tail = (args: string[], n: number): string[] => args.slice(-n);

test('secret files a flag names are mounted read-only, alone; the flag names the path inside', () => {
  const rt = new PodmanRuntime({ store: '/p/.kiln' });
  const { args } = rt.command(
    launch(['--db=/p/.kiln/secrets/staging/orders_url', '--log-file=/p/.kiln/logs/staging/api-http-staging/api-http-staging-v001-1.log', '--port=4100', '--token-file=/p/.kiln/secrets/staging/web_token']),
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
  // Another environment's secret, or a file elsewhere, is neither mounted nor rewritten.
  const other = rt.command(launch(['--db=/p/.kiln/secrets/prod/orders_url', '--x=/etc/passwd'])).args;
  assert.equal(volumes(other).length, 1);
  assert.deepEqual(tail(other, 2), ['--db=/p/.kiln/secrets/prod/orders_url', '--x=/etc/passwd']);
});

test('a SQLite store file: its directory is mounted read-write (journal beside it), default or custom path', () => {
  const byDefault = new PodmanRuntime({ store: '/p/.kiln' }).command(launch(['--db=/p/.kiln/data/staging/orders.db'])).args;
  assert.ok(volumes(byDefault).includes('/p/.kiln/data/staging:/run/kiln/data/orders:rw'));
  assert.deepEqual(tail(byDefault, 1), ['--db=/run/kiln/data/orders/orders.db']);
  const custom = new PodmanRuntime({ store: '/p/.kiln', sqliteFiles: () => ({ '/srv/shop/orders.sqlite': 'orders' }) }).command(launch(['--db=/srv/shop/orders.sqlite'])).args;
  assert.ok(volumes(custom).includes('/srv/shop:/run/kiln/data/orders:rw'));
  assert.deepEqual(tail(custom, 1), ['--db=/run/kiln/data/orders/orders.sqlite']);
});

test('defect 13: a secret version file is mounted alone, read-only, under the secret\'s own name', () => {
  const rt = new PodmanRuntime({ store: '/p/.kiln' });
  const version = `/p/.kiln/secrets/staging/web_token@${'3f'.repeat(16)}`;
  const { args } = rt.command(launch([`--token-file=${version}`]));
  assert.deepEqual(volumes(args).slice(1), [`${version}:/run/kiln/secrets/web_token:ro`]);
  assert.deepEqual(tail(args, 1), ['--token-file=/run/kiln/secrets/web_token']);
});
