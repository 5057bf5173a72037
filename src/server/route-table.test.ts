// The route table computed from a real state.db: which group is active, which kept group is the
// fallback, and that a worker cluster (no port, no load balancer) is not routed at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempRuntimeState } from '../store/testkit.js';
import { type RuntimeState, type GroupState, type GroupTemplate, type ServerState } from '../store/runtime-state.js';
import { validateRouteTable } from '../proxy/validate.js';
import { buildRouteTable } from './route-table.js';

const template = (cluster: string, role: string, build: number): GroupTemplate => ({
  project: 'shop',
  env: 'dev',
  service: 'api',
  role,
  cluster,
  release: `r${build}`,
  appDigest: `sha256:${String(build).repeat(64)}`,
  appDir: '/nonexistent',
  run: ['node', 'server.js'],
  flags: [],
  ...(role === 'http' ? { portName: 'http' } : {}),
});

function addGroup(state: RuntimeState, cluster: string, role: string, build: number, groupState: GroupState, servers: ServerState[]): string {
  const name = `${cluster}-v00${build}`;
  state.insertGroup({ name, cluster, build, release: `r${build}`, deployment_id: null, replicas: servers.length, template: template(cluster, role, build) });
  state.setGroupState(name, groupState);
  servers.forEach((s, i) => {
    state.insertServer({ name: `${name}-${i + 1}`, group_name: name, ordinal: i + 1, port: role === 'http' ? 41000 + build * 10 + i : null });
    state.setServerState(`${name}-${i + 1}`, s);
  });
  return name;
}

test('the newest kept group with a healthy server is the fallback; failed and emptied groups never are', (t) => {
  const state = tempRuntimeState(t);
  state.ensureCluster({ name: 'api-http-dev', env: 'dev', service: 'api', role: 'http', lb_port: 40100 });
  addGroup(state, 'api-http-dev', 'http', 1, 'disabled', ['healthy', 'healthy']);
  const kept = addGroup(state, 'api-http-dev', 'http', 2, 'draining', ['dead', 'healthy']);
  addGroup(state, 'api-http-dev', 'http', 3, 'failed', ['healthy']);
  const active = addGroup(state, 'api-http-dev', 'http', 4, 'active', ['dead', 'dead']);
  addGroup(state, 'api-http-dev', 'http', 5, 'creating', ['healthy']);
  state.setActive('api-http-dev', active);

  const table = buildRouteTable(state, 'shop.test', 7);
  const c = table.clusters[0]!;
  assert.equal(c.active, active);
  assert.equal(c.fallback, kept, 'the group an automatic rollback would switch to');
  assert.deepEqual(c.groups.find((g) => g.name === active)!.backends, [], 'dead servers take no traffic');
  assert.ok(validateRouteTable(table).ok, 'the proxy accepts it');

  // The kept group's last healthy server stops: no fallback (the older one is next in line).
  state.setServerState(`${kept}-2`, 'stopped');
  assert.equal(buildRouteTable(state, 'shop.test', 8).clusters[0]!.fallback, 'api-http-dev-v001');
  state.setServerState('api-http-dev-v001-1', 'stopped');
  state.setServerState('api-http-dev-v001-2', 'dead');
  assert.equal(buildRouteTable(state, 'shop.test', 9).clusters[0]!.fallback, undefined);
});

test('a cluster with no active group has no fallback either', (t) => {
  const state = tempRuntimeState(t);
  state.ensureCluster({ name: 'api-http-dev', env: 'dev', service: 'api', role: 'http', lb_port: 40100 });
  addGroup(state, 'api-http-dev', 'http', 1, 'disabled', ['healthy']);
  const c = buildRouteTable(state, 'shop.test', 1).clusters[0]!;
  assert.equal(c.active, null);
  assert.equal(c.fallback, undefined);
});

test('a worker cluster (no port, no load balancer) gets no route and claims no host', (t) => {
  const state = tempRuntimeState(t);
  state.ensureCluster({ name: 'api-http-dev', env: 'dev', service: 'api', role: 'http', lb_port: 40100 });
  state.ensureCluster({ name: 'api-worker-dev', env: 'dev', service: 'api', role: 'worker', lb_port: null });
  state.setActive('api-http-dev', addGroup(state, 'api-http-dev', 'http', 1, 'active', ['healthy']));
  state.setActive('api-worker-dev', addGroup(state, 'api-worker-dev', 'worker', 1, 'active', ['healthy']));
  const table = buildRouteTable(state, 'shop.test', 1);
  assert.deepEqual(table.clusters.map((c) => c.name), ['api-http-dev']);
  assert.ok(!JSON.stringify(table).includes('worker'), 'no host, group or server of the worker cluster');
});

test('a canary in progress is routed with its weight while its group is live and another is active; never on the active group', (t) => {
  const state = tempRuntimeState(t);
  state.ensureCluster({ name: 'api-http-dev', env: 'dev', service: 'api', role: 'http', lb_port: 40100 });
  const stable = addGroup(state, 'api-http-dev', 'http', 1, 'active', ['healthy']);
  const canary = addGroup(state, 'api-http-dev', 'http', 2, 'canary', ['healthy']);
  state.setActive('api-http-dev', stable);
  const table = buildRouteTable(state, 'shop.test', 1, [], { 'api-http-dev': { group: canary, weight: 10 } });
  const c = table.clusters[0]!;
  assert.deepEqual(c.canary, { group: canary, weight: 10 });
  assert.equal(c.active, stable);
  assert.equal(c.fallback, undefined, 'the canary group is not a kept group to fall back to');
  assert.ok(validateRouteTable(table).ok);
  // Aborted (the group failed) or promoted (it is the active one): no canary in the table.
  state.setGroupState(canary, 'failed');
  assert.equal(buildRouteTable(state, 'shop.test', 2, [], { 'api-http-dev': { group: canary, weight: 10 } }).clusters[0]!.canary, undefined);
  state.setGroupState(canary, 'active');
  state.setActive('api-http-dev', canary);
  assert.equal(buildRouteTable(state, 'shop.test', 3, [], { 'api-http-dev': { group: canary, weight: 10 } }).clusters[0]!.canary, undefined);
});
