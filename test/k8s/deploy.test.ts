// Kiln's deploy on the real test cluster: a release becomes a Deployment per server group and a
// Service per cluster whose selector switches; under continuous requests to the cluster Service,
// r1 -> r2 and the rollback fail no request and switch once; a release whose probe never passes
// and one that crashes fail naming the pod, take no traffic and leave no object; a worker's old
// group stops; the secret's value is in its Secret object only; down removes everything.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureCluster, waitFor, type TestCluster, type TestNamespace } from '../support/k8s.js';
import { startClusterLoad } from '../support/k8s-load.js';
import { requireBusybox } from '../support/podman.js';
import { findRepoRoot } from '../e2e/lib/project.js';
import type { KubeStatus } from '../../src/runtime/kubernetes/status.js';

const MINUTE = 60_000;
const CANARY = `kiln-k8s-canary-${process.pid}-b41d`;

interface Run { status: number; stdout: string; stderr: string }
function kiln(dir: string, args: string[], input?: string): Run {
  const r = spawnSync(process.execPath, [path.join(findRepoRoot(), 'bin', 'kiln.js'), ...args], { cwd: dir, encoding: 'utf8', input, timeout: 10 * MINUTE });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function mustKiln(dir: string, args: string[], input?: string): string {
  const r = kiln(dir, args, input);
  if (r.status !== 0) throw new Error(`kiln ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const SERVER = ['#!/bin/sh', 'port=8080', 'for a in "$@"; do case "$a" in --port=*) port="${a#--port=}" ;; esac; done', 'echo "version $(cat /app/version) on $port"', 'exec /bin/busybox httpd -f -p "$port" -h /app', ''].join('\n');
const WORKER = ['#!/bin/sh', 'echo "worker $(cat /app/version) up"', 'exec /bin/busybox sleep 100000', ''].join('\n');
const CRASH = ['#!/bin/sh', 'echo "boom: cannot start"', 'exit 3', ''].join('\n');

function kilnYaml(namespace: string, c: TestCluster, health = '/healthz', run = 'server.sh'): string {
  return [
    'project: k8sdeploy',
    'os:',
    '  base: { import: base.tar }',
    'services:',
    '  web:',
    '    os: base',
    `    app: { path: apps/web, run: [/bin/sh, ${run}] }`,
    '    roles:',
    `      http: { replicas: 2, port: http, health: { path: ${health}, interval: 1s, grace: 20s } }`,
    '    flags: { token-file: "${secret.web_token}" }',
    '  jobs:',
    '    os: base',
    '    app: { path: apps/web, run: [/bin/sh, worker.sh] }',
    '    roles:',
    '      worker: { replicas: 1 }',
    'environments:',
    `  prod: { runtime: kubernetes, kubernetes: { namespace: ${namespace}, kubeconfig: ${c.kubeconfig}, registry: "${c.registry}", registry-cert-dir: ${c.registryCertDir} } }`,
    '',
  ].join('\n');
}

describe('kiln deploy on the real Kubernetes test cluster', { timeout: 30 * MINUTE }, () => {
  let c: TestCluster;
  let ns: TestNamespace;
  let dir: string;
  const status = (): KubeStatus => JSON.parse(mustKiln(dir, ['status', '--env', 'prod', '--json'])) as KubeStatus;
  const cluster = (s: KubeStatus, name: string) => s.clusters.find((x) => x.cluster === name)!;
  const objects = (kind: string): string[] =>
    c.kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(['get', kind, '-n', ns.name, '-l', 'kiln.io/project=k8sdeploy']).items.map((o) => o.metadata.name).sort();
  const release = (version: string, edit?: { health?: string; run?: string }): string => {
    fs.writeFileSync(path.join(dir, 'apps', 'web', 'version'), `${version}\n`);
    fs.writeFileSync(path.join(dir, 'kiln.yaml'), kilnYaml(ns.name, c, edit?.health, edit?.run));
    mustKiln(dir, ['app', 'tag', 'web', `${version}.0.0`]);
    mustKiln(dir, ['app', 'tag', 'jobs', `${version}.0.0`]);
    const out = mustKiln(dir, ['release', 'create']);
    return /^(r\d+) /m.exec(out)![1]!;
  };
  let clusterIp = '';

  before(async () => {
    c = ensureCluster();
    ns = await c.createNamespace('kdeploy');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-k8s-deploy-'));
    const root = path.join(dir, 'rootfs');
    fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
    fs.copyFileSync(requireBusybox(), path.join(root, 'bin', 'busybox'));
    fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
    fs.symlinkSync('busybox', path.join(root, 'bin', 'sh'));
    assert.equal(spawnSync('tar', ['-C', root, '-cf', path.join(dir, 'base.tar'), '.']).status, 0);
    const app = path.join(dir, 'apps', 'web');
    fs.mkdirSync(app, { recursive: true });
    fs.writeFileSync(path.join(app, 'server.sh'), SERVER);
    fs.writeFileSync(path.join(app, 'worker.sh'), WORKER);
    fs.writeFileSync(path.join(app, 'crash.sh'), CRASH);
    fs.writeFileSync(path.join(app, 'healthz'), 'ok\n');
    fs.writeFileSync(path.join(dir, 'kiln.yaml'), kilnYaml(ns.name, c));
    mustKiln(dir, ['init']);
    mustKiln(dir, ['os', 'build', 'base']);
    mustKiln(dir, ['secret', 'set', 'web_token', '--env', 'prod'], CANARY);
  });

  after(() => {
    ns?.delete();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('r1: a Deployment per group, a Service per cluster answering from the ready pods only; status reads the cluster', async () => {
    const r1 = release('1');
    mustKiln(dir, ['deploy', r1, '--env', 'prod']);
    const s = status();
    assert.equal(cluster(s, 'web-http-prod').active, 'web-http-prod-v001');
    assert.deepEqual(cluster(s, 'web-http-prod').groups[0]!.servers.map((v) => v.state), ['ready', 'ready']);
    assert.equal(cluster(s, 'jobs-worker-prod').active, 'jobs-worker-prod-v001');
    assert.deepEqual(objects('deployments'), ['jobs-worker-prod-v001', 'web-http-prod-v001']);
    assert.deepEqual(objects('services'), ['web-http-prod', 'web-http-prod-v001']);
    clusterIp = c.kubectlJson<{ spec: { clusterIP: string } }>(['get', 'service', 'web-http-prod', '-n', ns.name]).spec.clusterIP;
    await waitFor('the cluster Service to answer', MINUTE, () => c.httpGet(`http://${clusterIp}/version`).body === '1\n');
    // Deploying the same release again changes nothing.
    const again = JSON.parse(mustKiln(dir, ['deploy', r1, '--env', 'prod', '--json'])) as { clusters: Array<{ action: string }> };
    assert.deepEqual(again.clusters.map((x) => x.action), ['unchanged', 'unchanged']);
  });

  test('r1 -> r2 under continuous requests: zero failed, the version switches once; r1 kept, the worker\'s old group stopped', async () => {
    const r2 = release('2');
    const load = startClusterLoad(c, `http://${clusterIp}/version`);
    await new Promise((r) => setTimeout(r, 1500));
    const out = JSON.parse(mustKiln(dir, ['deploy', r2, '--env', 'prod', '--json'])) as { switchMs: number };
    await new Promise((r) => setTimeout(r, 3000));
    const summary = await load.stop();
    assert.equal(summary.failed, 0, summary.errors.join('; '));
    assert.ok(summary.requests > 50, `only ${summary.requests} requests`);
    assert.deepEqual(summary.versions, ['1', '2']);
    assert.ok(out.switchMs >= 0);
    const s = status();
    assert.equal(cluster(s, 'web-http-prod').active, 'web-http-prod-v002');
    assert.equal(cluster(s, 'web-http-prod').previous, 'web-http-prod-v001');
    const oldWorker = c.kubectlJson<{ spec: { replicas: number } }>(['get', 'deployment', 'jobs-worker-prod-v001', '-n', ns.name]);
    assert.equal(oldWorker.spec.replicas, 0);
  });

  test('rollback under continuous requests: zero failed, back to r1 once', async () => {
    const load = startClusterLoad(c, `http://${clusterIp}/version`);
    await new Promise((r) => setTimeout(r, 1500));
    mustKiln(dir, ['rollback', '--env', 'prod']);
    await new Promise((r) => setTimeout(r, 3000));
    const summary = await load.stop();
    assert.equal(summary.failed, 0, summary.errors.join('; '));
    assert.deepEqual(summary.versions, ['2', '1']);
    const s = status();
    assert.equal(cluster(s, 'web-http-prod').active, 'web-http-prod-v001');
    assert.equal(cluster(s, 'jobs-worker-prod').active, 'jobs-worker-prod-v001');
    const worker = c.kubectlJson<{ spec: { replicas: number } }>(['get', 'deployment', 'jobs-worker-prod-v001', '-n', ns.name]);
    assert.equal(worker.spec.replicas, 1);
  });

  test('a release whose probe never passes, and one that crashes: the deploy fails naming the pod, no traffic moves, no object is left', async () => {
    const before = objects('deployments');
    for (const [edit, why] of [[{ health: '/missing' }, /did not get ready|never passed its readiness check/], [{ run: 'crash.sh' }, /failed: its container (restarted|exited)/]] as const) {
      const r = release('3', edit);
      const load = startClusterLoad(c, `http://${clusterIp}/version`);
      const d = kiln(dir, ['deploy', r, '--env', 'prod']);
      const summary = await load.stop();
      assert.equal(d.status, 1, d.stdout + d.stderr);
      assert.match(d.stderr, /server web-http-prod-v00\d-[a-z0-9]+-[a-z0-9]+|group web-http-prod-v00\d/);
      assert.match(d.stderr, why);
      if (edit.run) assert.match(d.stderr, /boom: cannot start/);
      assert.equal(summary.failed, 0);
      assert.deepEqual(summary.versions, ['1']);
      await waitFor('the failed groups to be gone', MINUTE, () => JSON.stringify(objects('deployments')) === JSON.stringify(before));
    }
  });

  test('the secret canary is in its Secret object only: not in any other object, nor in Kiln\'s outputs', () => {
    const all = c.kubectl(['get', 'deployments,replicasets,pods,services,configmaps,events', '-n', ns.name, '-o', 'yaml']);
    assert.doesNotMatch(all, new RegExp(CANARY));
    const secrets = c.kubectlJson<{ items: Array<{ metadata: { name: string }; data: { value: string } }> }>(['get', 'secrets', '-n', ns.name, '-l', 'kiln.io/project=k8sdeploy']).items;
    assert.equal(secrets.length, 1);
    assert.equal(Buffer.from(secrets[0]!.data.value, 'base64').toString(), CANARY);
    assert.doesNotMatch(mustKiln(dir, ['status', '--env', 'prod', '--json']) + mustKiln(dir, ['deploy', 'r1', '--env', 'prod', '--dry-run', '--json']), new RegExp(CANARY));
  });

  test('down removes every object Kiln made in the namespace', () => {
    mustKiln(dir, ['down', '--env', 'prod']);
    for (const kind of ['deployments', 'services', 'secrets', 'configmaps']) assert.deepEqual(objects(kind), [], kind);
  });
});
