// The project's real Kubernetes test cluster (test/k8s/cluster.sh): one node in a network
// namespace, built from Kubernetes v1.37.2 and etcd v3.7.3, running the project's own images on
// containerd. Every request to a ClusterIP or a pod IP is sent from inside that namespace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { ensureCluster, testServerImage, waitFor, type TestCluster, type TestNamespace } from '../support/k8s.js';
import { clusterIpService, list, opaqueSecret, serverDeployment, serverPod } from '../support/k8s-manifests.js';

interface Condition { type: string; status: string }
interface Node {
  status: { conditions: Condition[]; addresses: { type: string; address: string }[]; nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string } };
}
interface Pod {
  metadata: { name: string };
  status: {
    phase: string;
    podIP?: string;
    conditions?: Condition[];
    containerStatuses?: { started?: boolean; imageID: string; state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}
interface EndpointSlice { endpoints?: { addresses: string[]; conditions: { ready?: boolean } }[] }

const MINUTE = 60_000;
const LOCAL_IMAGE = 'localhost/kiln/httpd:1';

describe('the Kubernetes test cluster (a real node)', { timeout: 60 * MINUTE }, () => {
  let c: TestCluster;
  let image: { archive: string; tag: string; digest: string };
  const namespaces: TestNamespace[] = [];
  const namespace = async (prefix: string): Promise<string> => {
    const ns = await c.createNamespace(prefix);
    namespaces.push(ns);
    return ns.name;
  };

  const pods = (ns: string, selector: string): Pod[] => c.kubectlJson<{ items: Pod[] }>(['get', 'pods', '-n', ns, '-l', selector]).items;
  const pod = (ns: string, name: string): Pod => c.kubectlJson<Pod>(['get', 'pod', name, '-n', ns]);
  const isReady = (p: Pod): boolean => p.status.conditions?.some((k) => k.type === 'Ready' && k.status === 'True') ?? false;
  const started = (p: Pod): boolean => p.status.phase === 'Running' && (p.status.containerStatuses?.[0]?.started ?? false);
  const readyEndpoints = (ns: string, service: string): string[] =>
    c
      .kubectlJson<{ items: EndpointSlice[] }>(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${service}`])
      .items.flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions.ready === true)
      .flatMap((e) => e.addresses)
      .sort();
  // A pod that cannot start (no image, bad config) fails the wait at once, with the kubelet's reason.
  const STUCK = ['ErrImageNeverPull', 'ErrImagePull', 'ImagePullBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'CrashLoopBackOff', 'InvalidImageName'];
  const waitReady = (ns: string, name: string): Promise<void> =>
    waitFor(`pod ${name} to be ready`, 3 * MINUTE, () => {
      const p = pod(ns, name);
      const waiting = p.status.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason && STUCK.includes(waiting.reason)) throw new Error(`pod ${name} cannot start: ${waiting.reason}: ${waiting.message ?? ''}`);
      return isReady(p);
    });
  const clusterIp = (ns: string, service: string): string =>
    c.kubectlJson<{ spec: { clusterIP: string } }>(['get', 'service', service, '-n', ns]).spec.clusterIP;
  const apply = (ns: string, input: string): void => void c.kubectl(['apply', '-n', ns, '-f', '-'], input);

  before(() => {
    c = ensureCluster();
    image = testServerImage();
    c.importImage(image.archive, 'localhost/kiln/httpd');
  });

  after(() => {
    for (const ns of namespaces) ns.delete();
  });

  test('the cluster is up: its node is Ready, runs Kubernetes v1.37.2 on containerd, and kubectl reaches the apiserver at the node address (from inside the node namespace)', () => {
    const node = c.kubectlJson<Node>(['get', 'node', c.netns]);
    assert.equal(node.status.conditions.find((k) => k.type === 'Ready')?.status, 'True');
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.37.2');
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
    assert.deepEqual(node.status.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address), [c.nodeIp]);
    assert.equal(c.apiserver, `https://${c.nodeIp}:6443`);
    const version = JSON.parse(c.kubectl(['get', '--raw', '/version'])) as { gitVersion: string };
    assert.equal(version.gitVersion, 'v1.37.2');
  });

  test('a Deployment of the project-built image becomes ready, its ClusterIP answers from inside the namespace, and its EndpointSlice holds only the ready pods', async () => {
    const ns = await namespace('kt-web');
    const labels = { app: 'web' };
    apply(
      ns,
      list(
        serverDeployment('web', 2, { image: LOCAL_IMAGE, pullPolicy: 'Never', labels }),
        // Same labels, so the Service selects it, but its readiness probe fails.
        serverPod('web-unready', { image: LOCAL_IMAGE, pullPolicy: 'Never', labels, env: { FAIL_READY: '1' } }),
        clusterIpService('web', labels),
      ),
    );
    c.kubectl(['rollout', 'status', 'deployment/web', '-n', ns, '--timeout=300s']);
    await waitFor('web-unready to run', 3 * MINUTE, () => started(pod(ns, 'web-unready')));

    const all = pods(ns, 'app=web');
    const ready = all.filter(isReady);
    assert.equal(all.length, 3);
    assert.equal(ready.length, 2);
    assert.ok(!ready.some((p) => p.metadata.name === 'web-unready'));
    const readyIps = ready.map((p) => p.status.podIP ?? '').sort();
    await waitFor('the EndpointSlice to list the two ready pods', 2 * MINUTE, () => readyEndpoints(ns, 'web').join() === readyIps.join());
    assert.ok(!readyEndpoints(ns, 'web').includes(pod(ns, 'web-unready').status.podIP ?? ''));

    const ip = clusterIp(ns, 'web');
    // kube-proxy programs the Service a moment after the EndpointSlice changes.
    await waitFor(`the ClusterIP ${ip} to answer`, MINUTE, () => c.httpGet(`http://${ip}/`, 3).status === 200);
    // Every answer comes from a ready pod, and both take their share once kube-proxy has the
    // second one too (its rules can lag the EndpointSlice by a sync: asked until both answered).
    const answeredBy = new Set<string>();
    let i = 0;
    await waitFor('both ready pods to answer through the ClusterIP', MINUTE, () => {
      const r = c.httpGet(`http://${ip}/`);
      assert.equal(r.status, 200, `request ${i++} to ${ip}: ${r.error}`);
      answeredBy.add(r.body.split(' ')[0] ?? '');
      return answeredBy.size >= 2;
    }, 50);
    assert.deepEqual([...answeredBy].sort(), ready.map((p) => p.metadata.name).sort());
  });

  test('a readiness probe that fails keeps the pod out of the endpoints, and it is let in once the probe passes', async () => {
    const ns = await namespace('kt-probe');
    const labels = { app: 'late' };
    apply(ns, list(serverDeployment('late', 1, { image: LOCAL_IMAGE, pullPolicy: 'Never', labels, env: { FAIL_READY: '1' } }), clusterIpService('late', labels)));
    await waitFor('the pod to run', 3 * MINUTE, () => pods(ns, 'app=late').some(started));
    const [p] = pods(ns, 'app=late');
    assert.ok(p?.status.podIP);
    // Several probe periods pass; the process answers at its own address all the while.
    await new Promise((r) => setTimeout(r, 5000));
    const direct = c.httpGet(`http://${p.status.podIP}:8080/`);
    assert.equal(direct.status, 200, direct.error);
    assert.equal(isReady(pod(ns, p.metadata.name)), false);
    assert.deepEqual(readyEndpoints(ns, 'late'), []);
    const ip = clusterIp(ns, 'late');
    assert.equal(c.httpGet(`http://${ip}/`, 3).status, 0, 'a Service without ready endpoints must not answer');

    c.kubectl(['exec', '-n', ns, p.metadata.name, '--', 'sh', '-c', 'echo ok > /tmp/www/healthz']);
    await waitFor('the pod to enter the endpoints', 2 * MINUTE, () => readyEndpoints(ns, 'late').join() === p.status.podIP);
    await waitFor('the ClusterIP to answer', MINUTE, () => c.httpGet(`http://${ip}/`, 3).status === 200);
    assert.match(c.httpGet(`http://${ip}/`).body, new RegExp(`^${p.metadata.name} `));
  });

  test('the image pushed to the in-namespace registry runs from there, by digest', async () => {
    const ref = c.pushImage(image.archive, image.tag, `kiln-test/httpd-${process.pid}`);
    // The registry holds the manifest the project wrote, under its digest.
    assert.equal(ref, `${c.registry}/kiln-test/httpd-${process.pid}@${image.digest}`);
    const ns = await namespace('kt-registry');
    apply(ns, list(serverPod('from-registry', { image: ref, pullPolicy: 'Always', labels: { app: 'from-registry' } })));
    await waitReady(ns, 'from-registry');
    const p = pod(ns, 'from-registry');
    // The kubelet pulled it from the registry (imageID names whichever repository first held
    // this digest on the node, so only its digest is compared).
    assert.ok(p.status.containerStatuses?.[0]?.imageID.endsWith(`@${image.digest}`));
    const pulled = c.kubectlJson<{ items: { message: string }[] }>(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=from-registry,reason=Pulled']);
    assert.ok(pulled.items.some((e) => e.message.includes(`Successfully pulled image "${ref}"`)), JSON.stringify(pulled.items.map((e) => e.message)));
    const r = c.httpGet(`http://${p.status.podIP}:8080/`);
    assert.equal(r.status, 200, r.error);
    assert.match(r.body, /^from-registry /);
  });

  test('an imported image still runs with imagePullPolicy Never after the same image was pulled from the registry', async () => {
    // The kubelet keeps pull records per image ID (KEP-2535); by default an imported image stops
    // counting as preloaded once the same ID was pulled under another name (ErrImageNeverPull).
    // The node trusts localhost/kiln/* as preloaded; this runs after the registry test on purpose.
    const ns = await namespace('kt-preloaded');
    apply(ns, list(serverPod('imported', { image: LOCAL_IMAGE, pullPolicy: 'Never', labels: { app: 'imported' } })));
    await waitReady(ns, 'imported');
    assert.ok(pod(ns, 'imported').status.containerStatuses?.[0]?.imageID.endsWith(`@${image.digest}`));
  });

  test('a Secret mounted read-only as a file is readable by the container and cannot be written', async () => {
    const ns = await namespace('kt-secret');
    const value = crypto.randomBytes(16).toString('hex');
    apply(
      ns,
      list(
        opaqueSecret('app-secret', { token: value }),
        serverPod('with-secret', { image: LOCAL_IMAGE, pullPolicy: 'Never', labels: { app: 'with-secret' }, secretMounts: { 'app-secret': '/etc/app-secret' } }),
      ),
    );
    await waitReady(ns, 'with-secret');
    assert.equal(c.kubectl(['exec', '-n', ns, 'with-secret', '--', 'cat', '/etc/app-secret/token']), value);
    const write = () => c.kubectl(['exec', '-n', ns, 'with-secret', '--', 'sh', '-c', 'echo changed > /etc/app-secret/token']);
    assert.throws(write, /Read-only file system/);
    assert.equal(c.kubectl(['exec', '-n', ns, 'with-secret', '--', 'cat', '/etc/app-secret/token']), value);
  });
});
