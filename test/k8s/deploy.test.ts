// Kiln's deploy on the real test cluster: a release becomes a Deployment per server group and a
// Service per cluster whose selector switches; under continuous requests to the cluster Service,
// r1 -> r2 and the rollback fail no request and switch once; a release whose probe never passes
// and one that crashes fail naming the pod, take no traffic and leave no object; a worker's old
// group stops; the secret's value is in its Secret object only; down removes everything.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureCluster, waitFor, type TestCluster, type TestNamespace } from '../support/k8s.js';
import { startClusterLoad } from '../support/k8s-load.js';
import { makeK8sProject, MINUTE, type K8sProject } from '../support/k8s-project.js';
import type { KubeStatus } from '../../src/runtime/kubernetes/status.js';

const CANARY = `kiln-k8s-canary-${process.pid}-b41d`;

describe('kiln deploy on the real Kubernetes test cluster', { timeout: 30 * MINUTE }, () => {
  let c: TestCluster;
  let ns: TestNamespace;
  let p: K8sProject;
  const status = (): KubeStatus => JSON.parse(p.mustKiln(['status', '--env', 'prod', '--json'])) as KubeStatus;
  const cluster = (s: KubeStatus, name: string) => s.clusters.find((x) => x.cluster === name)!;
  let clusterIp = '';

  before(async () => {
    c = ensureCluster();
    ns = await c.createNamespace('kdeploy');
    p = makeK8sProject(c, ns, { project: 'k8sdeploy', secret: CANARY });
  });

  after(async () => {
    ns?.delete();
    await p?.remove();
  });

  test('r1: a Deployment per group, a Service per cluster answering from the ready pods only; status reads the cluster', async () => {
    const r1 = p.release('1');
    p.mustKiln(['deploy', r1, '--env', 'prod']);
    const s = status();
    assert.equal(cluster(s, 'web-http-prod').active, 'web-http-prod-v001');
    assert.deepEqual(cluster(s, 'web-http-prod').groups[0]!.servers.map((v) => v.state), ['ready', 'ready']);
    assert.equal(cluster(s, 'jobs-worker-prod').active, 'jobs-worker-prod-v001');
    assert.deepEqual(p.objects('deployments'), ['jobs-worker-prod-v001', 'web-http-prod-v001']);
    assert.deepEqual(p.objects('services'), ['web-http-prod', 'web-http-prod-v001']);
    clusterIp = c.kubectlJson<{ spec: { clusterIP: string } }>(['get', 'service', 'web-http-prod', '-n', ns.name]).spec.clusterIP;
    await waitFor('the cluster Service to answer', MINUTE, () => c.httpGet(`http://${clusterIp}/version`).body === '1\n');
    // Service to service by the URL Kiln renders (the cluster Service's DNS name): the worker
    // reaches web through the cluster DNS.
    const url = `http://web-http-prod.${ns.name}.svc:80`;
    const workerLog = (): string => {
      try {
        return c.kubectl(['logs', '-n', ns.name, '-l', 'kiln.io/cluster=jobs-worker-prod', '--tail', '20']);
      } catch {
        return ''; // its pod is still starting
      }
    };
    await waitFor('the worker to reach web by its cluster URL', MINUTE, () => workerLog().includes(`worker 1 reached web 1 at ${url}`), 1000);
    // Deploying the same release again changes nothing.
    const again = JSON.parse(p.mustKiln(['deploy', r1, '--env', 'prod', '--json'])) as { clusters: Array<{ action: string }> };
    assert.deepEqual(again.clusters.map((x) => x.action), ['unchanged', 'unchanged']);
  });

  test('r1 -> r2 under continuous requests: zero failed, the version switches once; r1 kept, the worker\'s old group stopped', async () => {
    const r2 = p.release('2');
    const load = startClusterLoad(c, `http://${clusterIp}/version`);
    await new Promise((r) => setTimeout(r, 1500));
    const out = JSON.parse(p.mustKiln(['deploy', r2, '--env', 'prod', '--json'])) as { switchMs: number };
    await new Promise((r) => setTimeout(r, 3000));
    const summary = await load.stop();
    assert.equal(summary.failed, 0, summary.errors.join('; '));
    assert.ok(summary.requests > 50, `only ${summary.requests} requests`);
    assert.deepEqual(summary.versions, ['1', '2'], summary.changes.join('\n'));
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
    p.mustKiln(['rollback', '--env', 'prod']);
    await new Promise((r) => setTimeout(r, 3000));
    const summary = await load.stop();
    assert.equal(summary.failed, 0, summary.errors.join('; '));
    assert.deepEqual(summary.versions, ['2', '1'], summary.changes.join('\n'));
    const s = status();
    assert.equal(cluster(s, 'web-http-prod').active, 'web-http-prod-v001');
    assert.equal(cluster(s, 'jobs-worker-prod').active, 'jobs-worker-prod-v001');
    const worker = c.kubectlJson<{ spec: { replicas: number } }>(['get', 'deployment', 'jobs-worker-prod-v001', '-n', ns.name]);
    assert.equal(worker.spec.replicas, 1);
  });

  test('a release whose probe never passes, and one that crashes: the deploy fails naming the pod, no traffic moves, no object is left', async () => {
    const before = p.objects('deployments');
    for (const [edit, why] of [[{ health: '/missing' }, /did not get ready|never passed its readiness check/], [{ run: 'crash.sh' }, /failed: its container (restarted|exited)/]] as const) {
      const r = p.release('3', edit);
      const load = startClusterLoad(c, `http://${clusterIp}/version`);
      const d = p.kiln(['deploy', r, '--env', 'prod']);
      const summary = await load.stop();
      assert.equal(d.status, 1, d.stdout + d.stderr);
      assert.match(d.stderr, /server web-http-prod-v00\d-[a-z0-9]+-[a-z0-9]+|group web-http-prod-v00\d/);
      assert.match(d.stderr, why);
      if (edit.run) assert.match(d.stderr, /boom: cannot start/);
      assert.equal(summary.failed, 0, summary.errors.join('; '));
      assert.deepEqual(summary.versions, ['1']);
      await waitFor('the failed groups to be gone', MINUTE, () => JSON.stringify(p.objects('deployments')) === JSON.stringify(before));
    }
  });

  test('the secret canary is in its Secret object only: not in any other object, nor in Kiln\'s outputs', () => {
    const all = c.kubectl(['get', 'deployments,replicasets,pods,services,configmaps,events', '-n', ns.name, '-o', 'yaml']);
    assert.doesNotMatch(all, new RegExp(CANARY));
    const secrets = c.kubectlJson<{ items: Array<{ metadata: { name: string }; data: { value: string } }> }>(['get', 'secrets', '-n', ns.name, '-l', 'kiln.io/project=k8sdeploy']).items;
    assert.equal(secrets.length, 1);
    assert.equal(Buffer.from(secrets[0]!.data.value, 'base64').toString(), CANARY);
    assert.doesNotMatch(p.mustKiln(['status', '--env', 'prod', '--json']) + p.mustKiln(['deploy', 'r1', '--env', 'prod', '--dry-run', '--json']), new RegExp(CANARY));
  });

  test('down removes every object Kiln made in the namespace', () => {
    p.mustKiln(['down', '--env', 'prod']);
    for (const kind of ['deployments', 'services', 'secrets', 'configmaps']) assert.deepEqual(p.objects(kind), [], kind);
  });
});
