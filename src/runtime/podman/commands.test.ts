import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  containerName,
  imageName,
  loadImageCommand,
  logPathInContainer,
  podmanEnv,
  psCommand,
  rmCommand,
  runCommand,
  stopCommand,
  type RunSpec,
} from './commands.js';

const DIGEST = `sha256:${'ab'.repeat(32)}` as const;
const spec: RunSpec = {
  project: 'shop',
  env: 'staging',
  cluster: 'api-http-staging',
  group: 'api-http-staging-v002',
  server: 'api-http-staging-v002-1',
  store: '/p/.kiln',
  image: `localhost/kiln/shop@${DIGEST}`,
  run: ['node', 'server.js'],
  flags: ['--port=41000', '--log-file=/var/log/kiln/api-http-staging-v002-1.log'],
  logDir: '/p/.kiln/logs/staging/api-http-staging',
  stdoutFile: '/p/.kiln/logs/staging/api-http-staging/api-http-staging-v002-1.stdout',
  port: 41000,
};

test('run: read-only, init, labels, log mount, port on 127.0.0.1, the app and its flags last', () => {
  const cmd = runCommand({ stopTimeoutS: 3 }, spec);
  assert.equal(cmd.file, 'podman');
  assert.deepEqual(cmd.args, [
    'run', '--detach',
    '--name', 'kiln.shop.api-http-staging-v002-1',
    '--read-only', '--init', '--stop-timeout', '3', '--restart', 'no',
    '--label', 'io.kiln.project=shop',
    '--label', 'io.kiln.env=staging',
    '--label', 'io.kiln.cluster=api-http-staging',
    '--label', 'io.kiln.group=api-http-staging-v002',
    '--label', 'io.kiln.server=api-http-staging-v002-1',
    '--label', 'io.kiln.store=/p/.kiln',
    '--volume', '/p/.kiln/logs/staging/api-http-staging:/var/log/kiln:rw',
    '--log-driver', 'k8s-file',
    '--log-opt', 'path=/p/.kiln/logs/staging/api-http-staging/api-http-staging-v002-1.stdout',
    '--publish', '127.0.0.1:41000:41000',
    '--env', 'LANG=C.UTF-8', '--env', 'TZ=UTC',
    '--entrypoint', '["node"]',
    `localhost/kiln/shop@${DIGEST}`,
    'server.js', '--port=41000', '--log-file=/var/log/kiln/api-http-staging-v002-1.log',
  ]);
});

test('run: per-environment settings are passed through, host networking publishes nothing', () => {
  const cmd = runCommand({ podman: '/usr/local/bin/podman', ociRuntime: 'runc', ulimits: ['nofile=20000:20000', 'nproc=8192:8192'], network: 'host' }, spec);
  assert.equal(cmd.file, '/usr/local/bin/podman');
  assert.deepEqual(cmd.args.slice(0, 3), ['--runtime', 'runc', 'run']);
  assert.ok(!cmd.args.includes('--publish'));
  const at = (flag: string): string[] => cmd.args.flatMap((a, i) => (a === flag ? [cmd.args[i + 1] as string] : []));
  assert.deepEqual(at('--network'), ['host']);
  assert.deepEqual(at('--ulimit'), ['nofile=20000:20000', 'nproc=8192:8192']);
  assert.deepEqual(at('--stop-timeout'), ['5']);
  assert.deepEqual(at('--pidfile'), []);
  const withPid = runCommand({}, { ...spec, pidFile: '/p/.kiln/run/servers/s/container.pid' }).args;
  assert.equal(withPid[withPid.indexOf('--pidfile') + 1], '/p/.kiln/run/servers/s/container.pid');
  assert.deepEqual(at('--user'), [], "without isolation: the image's user");
  const asUser = runCommand({}, { ...spec, user: '1879048200:1879048201' }).args;
  assert.equal(asUser[asUser.indexOf('--user') + 1], '1879048200:1879048201', 'as root: the environment’s uid and the servers’ group');
  assert.ok(asUser.indexOf('--user') < asUser.indexOf(spec.image), 'an option of run, before the image');
});

test('containers.conf reaches podman through CONTAINERS_CONF, not a flag', () => {
  assert.equal(podmanEnv({ containersConf: '/etc/kiln/containers.conf' }, { PATH: '/bin' }).CONTAINERS_CONF, '/etc/kiln/containers.conf');
  assert.equal(podmanEnv({}, { PATH: '/bin' }).CONTAINERS_CONF, undefined);
});

test('images load from the OCI layout under a per-project name tagged by manifest digest', () => {
  const img = { layout: '/p/.kiln/oci', ref: 'api-1', digest: DIGEST };
  assert.equal(imageName('shop', img), `localhost/kiln/shop:${'ab'.repeat(32)}`);
  assert.deepEqual(loadImageCommand({}, 'shop', img), {
    file: 'skopeo',
    args: ['copy', '--quiet', 'oci:/p/.kiln/oci:api-1', `containers-storage:localhost/kiln/shop:${'ab'.repeat(32)}`],
  });
  assert.throws(() => imageName('shop', { ...img, digest: 'sha256:short' as typeof DIGEST }), /not a sha256 digest/);
});

test('ps filters by labels; stop and rm name the container; log paths map into the mount', () => {
  assert.deepEqual(psCommand({}, { 'io.kiln.project': 'shop', 'io.kiln.store': '/p/.kiln' }).args, [
    'ps', '--all', '--no-trunc', '--format', 'json', '--filter', 'label=io.kiln.project=shop', '--filter', 'label=io.kiln.store=/p/.kiln',
  ]);
  assert.deepEqual(stopCommand({ ociRuntime: 'runc' }, 'abc', 2).args, ['--runtime', 'runc', 'stop', '--ignore', '--time', '2', 'abc']);
  assert.deepEqual(rmCommand({}, ['a', 'b']).args, ['rm', '--force', '--ignore', '--time', '0', 'a', 'b']);
  assert.equal(logPathInContainer({}, '/p/.kiln/logs/dev/c/s-1.log'), '/var/log/kiln/s-1.log');
  assert.equal(logPathInContainer({ logMount: '/logs' }, '/x/s-1.log'), '/logs/s-1.log');
  assert.equal(containerName('shop', 'web-http-dev-v001-1'), 'kiln.shop.web-http-dev-v001-1');
});

test('an empty run command is a bug, not a container', () => {
  assert.throws(() => runCommand({}, { ...spec, run: [] }), /empty run command/);
});
