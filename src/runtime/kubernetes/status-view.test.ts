import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, yaml } from '../../spec/testkit.js';
import { kubeStatusView } from './status-view.js';
import type { KubeStatus } from './status.js';

const SPEC = yaml(
  'project: shop',
  'services:',
  '  api:',
  '    app: { path: apps/api, run: [node, server.js] }',
  '    roles:',
  '      http: { replicas: 2, port: http, health: /healthz }',
  '      worker: { replicas: 1 }',
  'environments:',
  '  prod: { runtime: kubernetes, kubernetes: { namespace: shop-prod } }',
);

const STATUS: KubeStatus = {
  env: 'prod',
  runtime: 'kubernetes',
  namespace: 'shop-prod',
  clusters: [
    {
      cluster: 'api-http-prod',
      active: 'api-http-prod-v002',
      previous: 'api-http-prod-v001',
      groups: [
        { group: 'api-http-prod-v001', release: 'r1', state: 'kept', replicas: 2, servers: [] },
        {
          group: 'api-http-prod-v002',
          release: 'r2',
          state: 'active',
          replicas: 2,
          servers: [
            { name: 'api-http-prod-v002-abc', state: 'ready', ip: '10.1.0.5', restarts: 0 },
            { name: 'api-http-prod-v002-def', state: 'starting', ip: null, restarts: 0 },
          ],
        },
      ],
    },
    { cluster: 'api-worker-prod', active: 'api-worker-prod-v001', previous: null, groups: [{ group: 'api-worker-prod-v001', release: 'r1', state: 'active', replicas: 1, servers: [] }] },
  ],
};

test("a Kubernetes status in every runtime's shape: service and role from the spec, ready pods are healthy servers, a worker has no host", () => {
  const spec = load(SPEC);
  const v = kubeStatusView(spec, STATUS, { id: 7, release: 'r2', state: 'succeeded', kind: 'deploy' });
  assert.equal(v.project, 'shop');
  assert.equal(v.env, 'prod');
  assert.equal(v.lastDeployment?.id, 7);
  const http = v.clusters[0]!;
  assert.deepEqual([http.name, http.service, http.role, http.active], ['api-http-prod', 'api', 'http', 'api-http-prod-v002']);
  assert.match(http.host ?? '', /^api-http-prod\./);
  assert.equal(http.url, 'http://api-http-prod.shop-prod.svc');
  assert.deepEqual(
    http.groups.map((g) => [g.name, g.build, g.release, g.state, g.replicas, g.healthy]),
    [
      ['api-http-prod-v001', 1, 'r1', 'kept', 2, 0],
      ['api-http-prod-v002', 2, 'r2', 'active', 2, 1],
    ],
  );
  assert.deepEqual(http.groups[1]!.servers.map((s) => [s.name, s.state, s.detail]), [
    ['api-http-prod-v002-abc', 'healthy', 'pod ip 10.1.0.5'],
    ['api-http-prod-v002-def', 'starting', null],
  ]);
  const worker = v.clusters[1]!;
  assert.deepEqual([worker.service, worker.role, worker.host, worker.url], ['api', 'worker', null, null]);
});
