// The zone of a real state.db: what the control plane will serve after a deploy's switch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GroupTemplate } from '../store/runtime-state.js';
import { tempRuntimeState } from '../store/testkit.js';
import { zoneSnapshotFromState } from './snapshot.js';
import { buildZone } from './zone.js';

const template = (build: string): GroupTemplate => ({
  project: 'shop',
  env: 'dev',
  service: 'api',
  role: 'http',
  cluster: 'api-http-dev',
  release: `r${build}`,
  appDigest: `sha256:${build.repeat(64)}`,
  appDir: '/nonexistent',
  run: ['node', 'server.js'],
  flags: [],
  portName: 'http',
});

test('clusters, live groups and healthy servers of state.db become names; failed groups and dead servers do not', (t) => {
  const state = tempRuntimeState(t);
  state.ensureCluster({ name: 'api-http-dev', env: 'dev', service: 'api', role: 'http', lb_port: 40100 });
  for (const [build, groupState] of [['1', 'disabled'], ['2', 'active'], ['3', 'failed']] as const) {
    const group = `api-http-dev-v00${build}`;
    state.insertGroup({ name: group, cluster: 'api-http-dev', build: Number(build), release: `r${build}`, deployment_id: null, replicas: 2, template: template(build) });
    state.setGroupState(group, groupState);
    for (const n of [1, 2]) {
      state.insertServer({ name: `${group}-${n}`, group_name: group, ordinal: n, port: 41000 + Number(build) * 10 + n });
      state.setServerState(`${group}-${n}`, n === 1 ? 'healthy' : 'dead');
    }
  }
  state.setActive('api-http-dev', 'api-http-dev-v002');

  const zone = buildZone(zoneSnapshotFromState(state, { domain: 'shop.test', lbHost: '127.0.0.1', serverHost: '127.0.0.1' }));
  assert.deepEqual(zone.problems, []);
  const srv = zone.lookup('_http._tcp.api-http-dev.shop.test', 'SRV').answers;
  assert.deepEqual(srv.map((a) => (a.type === 'SRV' ? `${a.data.target}:${a.data.port}` : '')), ['api-http-dev.shop.test:40100']);
  const groupSrv = zone.lookup('_http._tcp.api-http-dev-v002.shop.test', 'SRV').answers;
  assert.deepEqual(groupSrv.map((a) => (a.type === 'SRV' ? `${a.data.target}:${a.data.port}` : '')), ['api-http-dev-v002-1.shop.test:41021']);
  assert.equal(zone.lookup('api-http-dev-v001.shop.test', 'A').answers.length, 1, 'kept for rollback: still named');
  assert.equal(zone.lookup('api-http-dev-v003.shop.test', 'A').rcode, 'NXDOMAIN', 'a failed group has no name');
  assert.equal(zone.lookup('api-http-dev-v002-2.shop.test', 'A').rcode, 'NXDOMAIN', 'a dead server has no name');
  const txt = zone.lookup('api-http-dev-v002.shop.test', 'TXT').answers.map((a) => (a.type === 'TXT' ? String(a.data) : ''));
  assert.deepEqual(txt.sort(), [`app=sha256:${'2'.repeat(64)}`, 'release=r2']);
  const clusterTxt = zone.lookup('api-http-dev.shop.test', 'TXT').answers.map((a) => (a.type === 'TXT' ? String(a.data) : ''));
  assert.deepEqual(clusterTxt, ['group=api-http-dev-v002', 'release=r2']);
});

test('a worker cluster (no port, no load balancer) has no cluster name, A or SRV; its group and servers keep theirs', (t) => {
  const state = tempRuntimeState(t);
  state.ensureCluster({ name: 'api-worker-dev', env: 'dev', service: 'api', role: 'worker', lb_port: null });
  const { portName: _none, ...workerTemplate } = template('1');
  state.insertGroup({
    name: 'api-worker-dev-v001',
    cluster: 'api-worker-dev',
    build: 1,
    release: 'r1',
    deployment_id: null,
    replicas: 1,
    template: { ...workerTemplate, role: 'worker', cluster: 'api-worker-dev' },
  });
  state.setGroupState('api-worker-dev-v001', 'active');
  state.insertServer({ name: 'api-worker-dev-v001-1', group_name: 'api-worker-dev-v001', ordinal: 1, port: null });
  state.setServerState('api-worker-dev-v001-1', 'healthy');
  state.setActive('api-worker-dev', 'api-worker-dev-v001');

  const zone = buildZone(zoneSnapshotFromState(state, { domain: 'shop.test', lbHost: '127.0.0.1', serverHost: '127.0.0.1' }));
  assert.deepEqual(zone.problems, []);
  for (const type of ['A', 'TXT', 'SRV']) {
    assert.equal(zone.lookup('api-worker-dev.shop.test', type).rcode, 'NXDOMAIN', `no ${type} for the worker cluster`);
  }
  assert.equal(zone.lookup('_http._tcp.api-worker-dev.shop.test', 'SRV').rcode, 'NXDOMAIN');
  assert.ok(!zone.names().includes('api-worker-dev.shop.test'));
  // Its build and servers are still named: where they run and which release they are.
  assert.equal(zone.lookup('api-worker-dev-v001-1.shop.test', 'A').answers.length, 1);
  const txt = zone.lookup('api-worker-dev-v001.shop.test', 'TXT').answers.map((a) => (a.type === 'TXT' ? String(a.data) : ''));
  assert.ok(txt.includes('release=r1'));
  assert.equal(zone.lookup('_http._tcp.api-worker-dev-v001.shop.test', 'SRV').answers.length, 0, 'no port, no SRV');
});
