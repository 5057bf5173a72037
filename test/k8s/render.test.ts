// `kiln render kubernetes` against the real test cluster: the manifests of a release that Kiln
// built (an imported busybox base, the platform and app layers) are accepted by the apiserver's
// server-side dry run, and, applied for real with the image pushed by digest to the cluster's
// registry, run: pods ready through the role's health check as a readiness probe, the cluster
// Service answering with only that group's pods behind it, read-only root filesystem, an
// unprivileged user, the secret a read-only file that only the Secret object holds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureCluster, waitFor, type TestCluster, type TestNamespace } from '../support/k8s.js';
import { requireBusybox } from '../support/podman.js';
import { kilnAt } from '../support/k8s-project.js';

const MINUTE = 60_000;
const CANARY = `kiln-canary-${process.pid}-7f3a9c`;

interface Pod { metadata: { name: string; labels: Record<string, string> }; status: { podIP?: string; conditions?: Array<{ type: string; status: string }> } }
interface EndpointSlice { endpoints?: Array<{ addresses: string[]; conditions: { ready?: boolean } }> }

/** Where kiln runs: the node's namespace (set in before()). */
let node: TestCluster | null = null;

function kiln(dir: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = kilnAt(node!, dir, args, input);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function mustKiln(dir: string, args: string[], input?: string): string {
  const r = kiln(dir, args, input);
  if (r.status !== 0) throw new Error(`kiln ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A project whose one service serves /app with busybox httpd on --port, and names a secret. */
function writeProject(dir: string, namespace: string, registry: string): void {
  const root = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.copyFileSync(requireBusybox(), path.join(root, 'bin', 'busybox'));
  fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(root, 'bin', 'sh'));
  const tar = spawnSync('tar', ['-C', root, '-cf', path.join(dir, 'base.tar'), '.'], { encoding: 'utf8' });
  assert.equal(tar.status, 0, tar.stderr);
  const app = path.join(dir, 'apps', 'api');
  fs.mkdirSync(app, { recursive: true });
  fs.writeFileSync(
    path.join(app, 'server.sh'),
    ['#!/bin/sh', 'port=8080', 'for a in "$@"; do case "$a" in --port=*) port="${a#--port=}" ;; esac; done', 'echo "serving on $port"', 'exec /bin/busybox httpd -f -p "$port" -h /app', ''].join('\n'),
  );
  fs.writeFileSync(path.join(app, 'healthz'), 'ok\n');
  fs.writeFileSync(
    path.join(dir, 'kiln.yaml'),
    [
      'project: rendertest',
      'os:',
      '  base: { import: base.tar }',
      'services:',
      '  api:',
      '    os: base',
      '    app: { path: apps/api, run: [/bin/sh, server.sh] }',
      '    roles:',
      '      http: { replicas: 2, port: http, health: { path: /healthz, interval: 1s, grace: 60s } }',
      '    flags: { token-file: "${secret.api_token}" }',
      'environments:',
      `  prod: { runtime: kubernetes, kubernetes: { namespace: ${namespace}, registry: "${registry}" } }`,
      '',
    ].join('\n'),
  );
}

describe('kiln render kubernetes on the real test cluster', { timeout: 20 * MINUTE }, () => {
  let c: TestCluster;
  let ns: TestNamespace;
  let dir: string;
  let out: string;
  let rendered: { objects: Array<{ kind: string; metadata: { name: string } }>; secrets: string[] };

  before(async () => {
    c = ensureCluster();
    node = c;
    ns = await c.createNamespace('render');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-render-'));
    out = path.join(dir, 'manifests');
    writeProject(dir, ns.name, c.registry);
    mustKiln(dir, ['init']);
    mustKiln(dir, ['os', 'build', 'base']);
    mustKiln(dir, ['app', 'tag', 'api', '1.0.0']);
    mustKiln(dir, ['secret', 'set', 'api_token', '--env', 'prod'], CANARY);
    mustKiln(dir, ['release', 'create']);
    rendered = JSON.parse(mustKiln(dir, ['render', 'kubernetes', '--env', 'prod', '--json'])) as typeof rendered;
    mustKiln(dir, ['render', 'kubernetes', '--env', 'prod', '-o', out]);
  });

  after(() => {
    ns?.delete();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the objects are the group Deployment, its preview Service and the cluster Service; the only Secret named holds the flag\'s file', () => {
    assert.deepEqual(rendered.objects.map((o) => `${o.kind}/${o.metadata.name}`), ['Deployment/api-http-prod-v001', 'Service/api-http-prod-v001', 'Service/api-http-prod']);
    assert.equal(rendered.secrets.length, 1);
    assert.deepEqual(fs.readdirSync(out).sort(), ['deployment-api-http-prod-v001.yaml', 'service-api-http-prod-v001.yaml', 'service-api-http-prod.yaml']);
    for (const f of fs.readdirSync(out)) assert.doesNotMatch(fs.readFileSync(path.join(out, f), 'utf8'), new RegExp(CANARY));
  });

  test('the apiserver accepts every rendered object (server-side dry run)', () => {
    const r = c.kubectl(['apply', '--dry-run=server', '-n', ns.name, '-f', out]);
    assert.match(r, /deployment\.apps\/api-http-prod-v001 created \(server dry run\)/);
    assert.match(r, /service\/api-http-prod-v001 created \(server dry run\)/);
    assert.match(r, /service\/api-http-prod created \(server dry run\)/);
    // The dry run changed nothing.
    assert.equal(c.kubectlJson<{ items: unknown[] }>(['get', 'deployments', '-n', ns.name]).items.length, 0);
  });

  test('applied, with the image pushed by digest and the Secret created, the group runs and the cluster Service answers', async () => {
    // Publish: Kiln's OCI layout -> an archive -> the registry, byte for byte (same digest).
    const layout = path.join(dir, '.kiln', 'oci');
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
    const deployment = JSON.parse(c.kubectl(['create', '--dry-run=client', '-o', 'json', '-f', path.join(out, 'deployment-api-http-prod-v001.yaml')])) as {
      spec: { template: { spec: { containers: Array<{ image: string }> } } };
    };
    const image = deployment.spec.template.spec.containers[0]!.image;
    const digest = image.slice(image.indexOf('@') + 1);
    const entry = index.manifests.find((m) => m.digest === digest);
    assert.ok(entry, `the rendered image ${image} is in the project's OCI layout`);
    const archive = path.join(dir, 'image.tar');
    const copy = spawnSync('skopeo', ['copy', '--quiet', '--preserve-digests', `oci:${layout}:${entry.annotations!['org.opencontainers.image.ref.name']}`, `oci-archive:${archive}:v1`], { encoding: 'utf8' });
    assert.equal(copy.status, 0, copy.stderr);
    assert.equal(c.pushImage(archive, 'v1', 'kiln/rendertest'), image);

    c.kubectl(['create', 'secret', 'generic', rendered.secrets[0]!, '-n', ns.name, `--from-file=value=${path.join(dir, '.kiln', 'secrets', 'prod', 'api_token')}`]);
    c.kubectl(['apply', '-n', ns.name, '-f', out]);
    c.kubectl(['rollout', 'status', 'deployment/api-http-prod-v001', '-n', ns.name, '--timeout=180s']);

    const pods = c.kubectlJson<{ items: Pod[] }>(['get', 'pods', '-n', ns.name, '-l', 'kiln.io/group=api-http-prod-v001']).items;
    assert.equal(pods.length, 2);
    const ips = pods.map((p) => p.status.podIP!).sort();
    await waitFor('the cluster Service to hold both pods', MINUTE, () => {
      const ready = c
        .kubectlJson<{ items: EndpointSlice[] }>(['get', 'endpointslices', '-n', ns.name, '-l', 'kubernetes.io/service-name=api-http-prod'])
        .items.flatMap((s) => s.endpoints ?? [])
        .filter((e) => e.conditions.ready === true)
        .flatMap((e) => e.addresses)
        .sort();
      return JSON.stringify(ready) === JSON.stringify(ips);
    });
    const ip = c.kubectlJson<{ spec: { clusterIP: string } }>(['get', 'service', 'api-http-prod', '-n', ns.name]).spec.clusterIP;
    // kube-proxy programs the Service's rules a moment after the endpoints are ready.
    let answer = c.httpGet(`http://${ip}/healthz`);
    await waitFor(`GET http://${ip}/healthz (the cluster Service) to answer`, MINUTE, () => (answer = c.httpGet(`http://${ip}/healthz`)).status === 200);
    assert.equal(answer.body, 'ok\n');

    const pod = pods[0]!.metadata.name;
    const exec = (script: string): string => c.kubectl(['exec', '-n', ns.name, pod, '--', '/bin/sh', '-c', script]);
    assert.equal(exec('cat /run/kiln/secrets/api_token'), CANARY);
    assert.equal(exec('/bin/busybox id -u'), '65532\n');
    assert.equal(exec('echo x > /run/kiln/secrets/api_token 2>/dev/null && echo writable || echo refused'), 'refused\n');
    assert.equal(exec('echo x > /probe 2>/dev/null && echo writable || echo refused'), 'refused\n');
    assert.equal(exec('echo x > /tmp/probe && echo writable'), 'writable\n');
  });
});
