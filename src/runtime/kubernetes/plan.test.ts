import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../../errors.js';
import type { ReleaseManifest } from '../../release/types.js';
import { load, problemsOf, only, yaml } from '../../spec/testkit.js';
import { planKubernetes } from './plan.js';
import type { Deployment, Service } from './objects.js';

const DIGEST = (c: string) => `sha256:${c.repeat(64)}`;
const SPEC = yaml(
  'project: shop',
  'data:',
  '  orders: { engine: sqlite, changelog: db }',
  'services:',
  '  api:',
  '    app: { path: apps/api, run: [node, server.js] }',
  '    roles:',
  '      http: { replicas: 2, port: http, health: /healthz }',
  '      worker: { replicas: 1, flags: { mode: worker } }',
  '  web:',
  '    app: { path: apps/web, run: [node, server.js] }',
  '    roles:',
  '      http: { replicas: 2, port: http }',
  '    flags: { api-url: "${cluster.api-http.url}" }',
  'environments:',
  '  dev: { runtime: process }',
  '  prod:',
  '    runtime: kubernetes',
  '    kubernetes: { namespace: shop-prod, registry: reg.internal:5000 }',
  '    scale: { web: { http: 3 } }',
  '    data: { orders: { engine: postgres, url: "${secret.orders_url}" } }',
  '    flags: { api: { db: "${data.orders.url}" }, web: { token-file: "${secret.web_token}" } }',
  '  edge:',
  '    runtime: kubernetes',
  '    kubernetes: { namespace: shop-edge }',
  '    flags: { api: { db: "${data.orders.url}" } }',
);

const release: ReleaseManifest = {
  schema: 'kiln.release.v1',
  project: 'shop',
  name: 'r3',
  number: 3,
  parent: 'r2',
  createdAt: '2026-12-03T00:00:00.000Z',
  services: {
    api: {
      app: { stream: 'app/api', tag: '1.0.0', digest: DIGEST('1') },
      image: { digest: DIGEST('a'), ref: 'image/api:x', os: { stream: 'os/base', tag: '1', digest: DIGEST('9') } },
      run: ['node', 'server.js'],
      roles: {
        http: { replicas: 2, port: 'http', health: { path: '/healthz', intervalMs: 500, timeoutMs: 1000, retries: 3, graceMs: 10_000 }, flags: {} },
        worker: { replicas: 1, flags: { mode: 'worker' } },
      },
      flags: {},
    },
    web: {
      app: { stream: 'app/web', tag: '2.0.0', digest: DIGEST('2') },
      image: { digest: DIGEST('b'), ref: 'image/web:x', os: { stream: 'os/base', tag: '1', digest: DIGEST('9') } },
      run: ['node', 'server.js'],
      roles: { http: { replicas: 2, port: 'http', flags: {} } },
      flags: { 'api-url': '${cluster.api-http.url}' },
    },
  },
};

const plan = (env: string, r: ReleaseManifest = release) =>
  planKubernetes(load(SPEC), env, r, { kilnDir: '/nonexistent/.kiln', buildOf: (c) => (c === 'api-http-prod' ? 5 : 1) });
const deployment = (objects: Array<Deployment | Service | { kind: string }>): Deployment => objects.find((o) => o.kind === 'Deployment') as Deployment;

test('per cluster: a Deployment named after the next group; roles with a port also get the preview and the cluster Service', () => {
  const p = plan('prod');
  assert.equal(p.namespace, 'shop-prod');
  assert.deepEqual(
    p.clusters.map((c) => [c.cluster, c.group, c.replicas, c.objects.map((o) => `${o.kind}/${o.metadata.name}`)]),
    [
      ['api-http-prod', 'api-http-prod-v005', 2, ['Deployment/api-http-prod-v005', 'Service/api-http-prod-v005', 'Service/api-http-prod']],
      ['api-worker-prod', 'api-worker-prod-v001', 1, ['Deployment/api-worker-prod-v001']],
      ['web-http-prod', 'web-http-prod-v001', 3, ['Deployment/web-http-prod-v001', 'Service/web-http-prod-v001', 'Service/web-http-prod']],
    ],
  );
});

test('flags are rendered for the pod: fixed port, the pod log path, secrets and store URLs as mounted files, cluster URLs as Service DNS', () => {
  const p = plan('prod');
  const api = deployment(p.clusters[0]!.objects).spec.template.spec.containers[0]!;
  assert.deepEqual(api.args, ['server.js', '--db=/run/kiln/secrets/orders_url', '--log-file=/dev/stderr', '--port=8080']);
  assert.equal(api.image, `reg.internal:5000/kiln/shop@${DIGEST('a')}`);
  const web = deployment(p.clusters[2]!.objects).spec.template.spec.containers[0]!;
  assert.deepEqual(web.args, ['server.js', '--api-url=http://api-http-prod.shop-prod.svc:80', '--log-file=/dev/stderr', '--port=8080', '--token-file=/run/kiln/secrets/web_token']);
  assert.deepEqual(p.clusters.map((c) => c.secrets), [['orders_url'], ['orders_url'], ['web_token']]);
  // Values are never part of a plan: no secret was read (the .kiln dir does not even exist).
  assert.doesNotMatch(JSON.stringify(p), /postgres:\/\//);
});

test('a service\'s flags-style and positional arguments reach the pod; a secret in an argument is a mounted file too', () => {
  const web = { ...release.services.web!, flagsStyle: 'space' as const, args: ['${secret.site_key}', 'public'], flags: { 'api-url': '${cluster.api-http.url}', quiet: true, 'log-file': false } };
  const p = plan('prod', { ...release, services: { ...release.services, web } });
  const c = deployment(p.clusters[2]!.objects).spec.template.spec.containers[0]!;
  assert.deepEqual(c.args, [
    'server.js', '--api-url', 'http://api-http-prod.shop-prod.svc:80', '--port', '8080', '--quiet', '--token-file', '/run/kiln/secrets/web_token', '/run/kiln/secrets/site_key', 'public',
  ]);
  assert.deepEqual(p.clusters[2]!.secrets, ['site_key', 'web_token']);
});

test('a SQLite store in a Kubernetes environment is refused at plan time, naming the store and the fix', () => {
  assert.throws(() => plan('edge'), (e: unknown) => {
    assert.ok(e instanceof KilnError);
    assert.equal(e.code, 'SPEC_INVALID');
    assert.match(e.message, /data store "orders" is SQLite in environment edge, which runs on kubernetes/);
    assert.match(e.hint ?? '', /engine: postgres/);
    return true;
  });
});

test('a non-Kubernetes environment and a release without images are clear errors', () => {
  assert.throws(() => plan('dev'), (e: unknown) => e instanceof KilnError && e.code === 'RUNTIME_UNSUPPORTED' && /Kubernetes environments: prod, edge/.test(e.hint ?? ''));
  const { image: _i, ...apiNoImage } = release.services.api!;
  assert.throws(() => plan('prod', { ...release, services: { ...release.services, api: apiNoImage } }), /r3 has no image for api, and environment prod runs kubernetes/);
});

test('kiln.yaml: runtime kubernetes without its settings, and settings on another runtime, are placed problems', () => {
  const base = SPEC.split('\n').slice(0, 14).join('\n') + '\n';
  const p1 = only(problemsOf(base + yaml('environments:', '  prod: { runtime: kubernetes }')), /runs on kubernetes but has no kubernetes: settings/);
  assert.equal(p1.line, 16);
  const p2 = only(problemsOf(base + yaml('environments:', '  prod:', '    kubernetes: { namespace: x }')), /has kubernetes: settings but runs on process/);
  assert.equal(p2.line, 17);
  only(problemsOf(base + yaml('environments:', '  prod: { runtime: kubernetes, kubernetes: { namespace: x, registry: "https://reg" } }')), /must be a registry as host\[:port\]\[\/path\]/);
});
