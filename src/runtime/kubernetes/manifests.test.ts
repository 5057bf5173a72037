import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterService, groupDeployment, imageReference, previewService, readinessProbe, secretObject, secretObjectName, type GroupManifestInput } from './manifests.js';
import type { KubernetesSettings } from './settings.js';

const settings: KubernetesSettings = { namespace: 'shop-prod', runAsUser: 65532 };
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const input: GroupManifestInput = {
  project: 'shop',
  env: 'prod',
  cluster: 'api-http-prod',
  group: 'api-http-prod-v004',
  release: 'r7',
  replicas: 2,
  image: `localhost/kiln/shop:${'ab'.repeat(32)}`,
  imagePullPolicy: 'Never',
  run: ['node', 'server.js'],
  args: ['--port=8080', '--token-file=/run/kiln/secrets/web_token'],
  portName: 'http',
  health: { path: '/healthz', intervalMs: 500, timeoutMs: 1500, retries: 3, graceMs: 30_000 },
  secrets: ['web_token', 'orders_url', 'web_token'],
  secretObject: (s) => secretObjectName('prod', s),
};

const groupLabels = {
  'app.kubernetes.io/managed-by': 'kiln',
  'kiln.io/project': 'shop',
  'kiln.io/env': 'prod',
  'kiln.io/cluster': 'api-http-prod',
  'kiln.io/group': 'api-http-prod-v004',
  'kiln.io/release': 'r7',
};
const selector = { 'kiln.io/project': 'shop', 'kiln.io/env': 'prod', 'kiln.io/cluster': 'api-http-prod', 'kiln.io/group': 'api-http-prod-v004' };

test('a server group is one Deployment: named after the group, read-only, unprivileged, flags as args, health as readiness, secrets as files', () => {
  assert.deepEqual(groupDeployment(input, settings), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api-http-prod-v004', namespace: 'shop-prod', labels: groupLabels },
    spec: {
      replicas: 2,
      selector: { matchLabels: selector },
      revisionHistoryLimit: 0,
      progressDeadlineSeconds: 30,
      template: {
        metadata: { labels: groupLabels },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 10,
          securityContext: { runAsNonRoot: true, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'server',
              image: input.image,
              imagePullPolicy: 'Never',
              command: ['node'],
              args: ['server.js', '--port=8080', '--token-file=/run/kiln/secrets/web_token'],
              workingDir: '/app',
              env: [
                { name: 'LANG', value: 'C.UTF-8' },
                { name: 'TZ', value: 'UTC' },
              ],
              ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 },
              securityContext: {
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                runAsNonRoot: true,
                runAsUser: 65532,
                runAsGroup: 65532,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                { name: 'secrets', mountPath: '/run/kiln/secrets', readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
            {
              name: 'secrets',
              projected: {
                defaultMode: 0o440,
                sources: [
                  { secret: { name: 'kiln-prod-orders-url-' + secretObjectName('prod', 'orders_url').slice(-6), items: [{ key: 'value', path: 'orders_url' }] } },
                  { secret: { name: 'kiln-prod-web-token-' + secretObjectName('prod', 'web_token').slice(-6), items: [{ key: 'value', path: 'web_token' }] } },
                ],
              },
            },
          ],
        },
      },
    },
  });
});

test('a worker (no port): no ports, no probe, no secrets volume when it names none', () => {
  const { portName: _p, health: _h, ...rest } = input;
  const d = groupDeployment({ ...rest, secrets: [] }, settings);
  const c = d.spec.template.spec.containers[0]!;
  assert.deepEqual(c.ports, []);
  assert.equal(c.readinessProbe, undefined);
  assert.deepEqual(d.spec.template.spec.volumes.map((v) => v.name), ['tmp']);
  assert.equal(d.spec.progressDeadlineSeconds, 60);
});

test('the cluster Service selects the active group; the preview Service its own group; both by port name', () => {
  const ids = { project: 'shop', env: 'prod', cluster: 'api-http-prod', group: 'api-http-prod-v004', release: 'r7', portName: 'http' };
  assert.deepEqual(clusterService(ids, settings), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'api-http-prod',
      namespace: 'shop-prod',
      labels: { 'app.kubernetes.io/managed-by': 'kiln', 'kiln.io/project': 'shop', 'kiln.io/env': 'prod', 'kiln.io/cluster': 'api-http-prod' },
    },
    spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  });
  const preview = previewService(ids, settings);
  assert.equal(preview.metadata.name, 'api-http-prod-v004');
  assert.deepEqual(preview.spec.selector, selector);
  assert.deepEqual(preview.metadata.labels, groupLabels);
});

test('Secret object names: a DNS label, distinct for names that differ only in case or _ vs -', () => {
  assert.equal(secretObjectName('prod', 'token'), 'kiln-prod-token');
  assert.equal(secretObjectName('prod', 'token', 'v3'), 'kiln-prod-token-v3');
  const a = secretObjectName('prod', 'Web_Token');
  const b = secretObjectName('prod', 'web-token');
  assert.notEqual(a, b);
  for (const n of [a, b]) assert.match(n, /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
});

test('a Secret holds the value base64 under "value", immutable; the image is by digest from a registry, or node-imported', () => {
  const s = secretObject({ project: 'shop', env: 'prod', name: 'token', objectName: 'kiln-prod-token', value: Buffer.from('s3cret') }, settings);
  assert.deepEqual(s.data, { value: Buffer.from('s3cret').toString('base64') });
  assert.equal(s.immutable, true);
  assert.deepEqual(imageReference('shop', DIGEST, { ...settings, registry: 'reg.internal:5000/team/' }), {
    image: `reg.internal:5000/team/kiln/shop@${DIGEST}`,
    pullPolicy: 'IfNotPresent',
  });
  assert.deepEqual(imageReference('shop', DIGEST, settings), { image: `localhost/kiln/shop:${'ab'.repeat(32)}`, pullPolicy: 'Never' });
  assert.throws(() => imageReference('shop', 'sha256:short', settings), /not a sha256 digest/);
});

test('readiness timing from the health check: whole seconds, at least 1', () => {
  assert.deepEqual(readinessProbe({ path: '/h', intervalMs: 2500, timeoutMs: 200, retries: 0, graceMs: 1 }, 'web'), {
    httpGet: { path: '/h', port: 'web' },
    periodSeconds: 3,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 1,
  });
});
