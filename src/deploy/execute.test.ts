// Deploy and rollback as data: a real state.db, a recording runtime and a recording proxy
// (testkit.ts). What a user would see in `kiln status`: which groups are active, kept, stopped or
// destroyed, which servers run, and whether the deploy reported success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempRuntimeState } from '../store/testkit.js';
import type { RuntimeState } from '../store/runtime-state.js';
import { executeDeploy } from './execute.js';
import { executeRollback, planRollback } from './rollback.js';
import { apiPlan, deployWorld } from './testkit.js';

const digest = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;

function groupStates(state: RuntimeState, cluster: string): Record<string, string> {
  return Object.fromEntries(state.groups({ cluster }).map((g) => [g.name, g.state]));
}

test('defect 7: a switch stops the previous worker group; it is kept stopped, with no servers, beside a drained http group', async (t) => {
  const state = tempRuntimeState(t);
  const w = deployWorld(state);
  await executeDeploy(apiPlan(state, 'r1', digest(1)), w.deps, 1, w.emit);
  await executeDeploy(apiPlan(state, 'r2', digest(2)), w.deps, 2, w.emit);
  assert.deepEqual(groupStates(state, 'api-worker-dev'), { 'api-worker-dev-v001': 'stopped', 'api-worker-dev-v002': 'active' });
  assert.deepEqual(groupStates(state, 'api-http-dev'), { 'api-http-dev-v001': 'disabled', 'api-http-dev-v002': 'active' });
  // Only the new worker runs; the kept http group keeps its servers for an instant rollback.
  assert.deepEqual(w.runtime.live(), ['api-http-dev-v001-1', 'api-http-dev-v001-2', 'api-http-dev-v002-1', 'api-http-dev-v002-2', 'api-worker-dev-v002-1']);
  assert.ok(w.runtime.calls.indexOf('stop api-worker-dev-v001-1') > w.runtime.calls.indexOf('start api-worker-dev-v002-1'), 'the old worker stops after the new one started');

  // A third deploy destroys the stopped group like any older group.
  await executeDeploy(apiPlan(state, 'r3', digest(3)), w.deps, 3, w.emit);
  assert.equal(state.group('api-worker-dev-v001')?.state, 'destroyed');
  assert.equal(state.group('api-worker-dev-v002')?.state, 'stopped');
  assert.deepEqual(w.runtime.live().filter((s) => s.startsWith('api-worker')), ['api-worker-dev-v003-1']);
});

test('defect 7: rollback starts the kept worker group again as new servers (new names, same group), then stops the one it replaces', async (t) => {
  const state = tempRuntimeState(t);
  const w = deployWorld(state);
  await executeDeploy(apiPlan(state, 'r1', digest(1)), w.deps, 1, w.emit);
  await executeDeploy(apiPlan(state, 'r2', digest(2)), w.deps, 2, w.emit);

  const steps = planRollback(w.deps, 'dev', 'api-worker-dev');
  assert.deepEqual(steps, [{ cluster: 'api-worker-dev', from: 'api-worker-dev-v002', to: 'api-worker-dev-v001', start: 1 }]);
  await executeRollback(w.deps, steps, w.emit);
  assert.deepEqual(groupStates(state, 'api-worker-dev'), { 'api-worker-dev-v001': 'active', 'api-worker-dev-v002': 'stopped' });
  assert.deepEqual(w.runtime.live().filter((s) => s.startsWith('api-worker')), ['api-worker-dev-v001-2']);
  assert.ok(w.runtime.calls.indexOf('stop api-worker-dev-v002-1') > w.runtime.calls.indexOf('start api-worker-dev-v001-2'), 'the switch waits for the new server');

  // And forward again, the same way.
  await executeRollback(w.deps, planRollback(w.deps, 'dev', 'api-worker-dev'), w.emit);
  assert.deepEqual(groupStates(state, 'api-worker-dev'), { 'api-worker-dev-v001': 'stopped', 'api-worker-dev-v002': 'active' });
  assert.deepEqual(w.runtime.live().filter((s) => s.startsWith('api-worker')), ['api-worker-dev-v002-2']);
});

test('defect 10: the proxy killed right at the switch: the deploy succeeds once the restarted proxy routes the new group, and drains and destroys as usual', async (t) => {
  const state = tempRuntimeState(t);
  const w = deployWorld(state);
  await executeDeploy(apiPlan(state, 'r1', digest(1), ['http']), w.deps, 1, w.emit);
  await executeDeploy(apiPlan(state, 'r2', digest(2), ['http']), w.deps, 2, w.emit);
  // Killed after it saved the switch's table (kill -9 right after the PUT landed, before its answer).
  let armed = true;
  w.proxy.onPush = (table) => {
    if (armed && table.clusters[0]?.active === 'api-http-dev-v003') {
      armed = false;
      w.proxy.table = table; // restored from its routes file when it restarts
      w.proxy.kill();
    }
  };
  const outcome = await executeDeploy(apiPlan(state, 'r3', digest(3), ['http']), w.deps, 3, w.emit);
  assert.deepEqual(outcome.groups, [{ cluster: 'api-http-dev', group: 'api-http-dev-v003', previous: 'api-http-dev-v002' }]);
  assert.equal(w.proxy.restarts, 1);
  assert.equal(w.proxy.table?.clusters[0]?.active, 'api-http-dev-v003');
  assert.deepEqual(groupStates(state, 'api-http-dev'), { 'api-http-dev-v001': 'destroyed', 'api-http-dev-v002': 'disabled', 'api-http-dev-v003': 'active' });
  assert.deepEqual(w.runtime.live(), ['api-http-dev-v002-1', 'api-http-dev-v002-2', 'api-http-dev-v003-1', 'api-http-dev-v003-2']);
  assert.deepEqual(w.proxy.table?.clusters[0]?.groups.map((g) => g.name), ['api-http-dev-v002', 'api-http-dev-v003'], 'the destroyed group left the restarted proxy');
});

test('defect 10: the proxy killed before the PUT and restarted with the old table: the table is sent again, the deploy succeeds', async (t) => {
  const state = tempRuntimeState(t);
  const w = deployWorld(state);
  await executeDeploy(apiPlan(state, 'r1', digest(1), ['http']), w.deps, 1, w.emit);
  let armed = true;
  w.proxy.onPush = (table) => {
    if (armed && table.clusters[0]?.active === 'api-http-dev-v002') {
      armed = false;
      w.proxy.kill(); // dies with the old table saved
    }
  };
  await executeDeploy(apiPlan(state, 'r2', digest(2), ['http']), w.deps, 2, w.emit);
  assert.equal(w.proxy.table?.clusters[0]?.active, 'api-http-dev-v002');
  assert.deepEqual(groupStates(state, 'api-http-dev'), { 'api-http-dev-v001': 'disabled', 'api-http-dev-v002': 'active' });
});

test('a proxy that does not come back: the switch is undone and the new groups are destroyed; the old group is active again', async (t) => {
  const state = tempRuntimeState(t);
  const w = deployWorld(state, undefined, { proxyBackTimeoutMs: 300 });
  await executeDeploy(apiPlan(state, 'r1', digest(1)), w.deps, 1, w.emit);
  w.proxy.onPush = (table) => {
    if (table.clusters[0]?.active === 'api-http-dev-v002') w.proxy.kill();
  };
  w.proxy.restartable = false;
  await assert.rejects(executeDeploy(apiPlan(state, 'r2', digest(2)), w.deps, 2, w.emit), /kiln proxy did not route the new groups/);
  assert.deepEqual(groupStates(state, 'api-http-dev'), { 'api-http-dev-v001': 'active', 'api-http-dev-v002': 'failed' });
  assert.deepEqual(groupStates(state, 'api-worker-dev'), { 'api-worker-dev-v001': 'active', 'api-worker-dev-v002': 'failed' });
  assert.equal(state.cluster('api-http-dev')?.active_group, 'api-http-dev-v001');
  assert.deepEqual(w.runtime.live(), ['api-http-dev-v001-1', 'api-http-dev-v001-2', 'api-worker-dev-v001-1']);
});
