// What runs all day must not read history (issue 15, part 5): the reconciler's tick (every
// 250 ms), the health monitor (every second), status and a deploy reach server_groups, servers,
// events and deployments through a key that leads to live rows, never by a scan nor by walking
// every group a cluster ever had. Checked on SQLite's own query plans (EXPLAIN QUERY PLAN) of the
// statements those paths really prepared, so a query added to a loop later is held to it too.
// No timing: bench/history.js measures the costs with 30,000 historical groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type Database from 'better-sqlite3';
import { tempRuntimeState } from '../store/testkit.js';
import type { RuntimeState } from '../store/runtime-state.js';
import type { ProjectSpec } from '../spec/types.js';
import { executeDeploy } from '../deploy/execute.js';
import { apiPlan, deployWorld, type DeployWorld } from '../deploy/testkit.js';
import { zoneSnapshotFromState } from '../dns/snapshot.js';
import { Reconciler } from './reconciler.js';
import { statusView } from './status.js';

const digest = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const spec = { project: 'shop', domain: 'shop.test', proxy: { host: '127.0.0.1' } } as ProjectSpec;

/** Every SQL text prepared on the database from now on, with the number of prepare calls. */
function recordPrepares(db: Database.Database): { texts: Set<string>; calls: () => number } {
  const texts = new Set<string>();
  let calls = 0;
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    calls++;
    texts.add(sql);
    return prepare(sql);
  }) as typeof db.prepare;
  return { texts, calls: () => calls };
}

function reconciler(state: RuntimeState, w: DeployWorld): Reconciler {
  return new Reconciler({
    state,
    servers: w.deps.servers,
    pushRoutes: w.routing.pushRoutes,
    ensureProxy: w.routing.ensureProxy,
    sweepOrphans: async () => undefined,
    inFlight: w.routing.inFlight,
    crashLoop: async () => true,
    checkStorage: () => true,
    event: () => undefined,
    log: (m) => assert.fail(`the reconciler logged: ${m}`),
  });
}

/** The history tables, and the columns whose key reaches one row or a live few of them. */
const key = (...columns: string[]): RegExp => new RegExp(`\\([^)]*\\b(${columns.join('|')})=\\?`);
const BOUNDED: Record<string, RegExp> = {
  server_groups: key('name', 'state'),
  servers: key('name', 'group_name'),
  events: key('subject', 'env', 'deployment_id', 'rowid'),
  deployments: key('env', 'rowid'),
};

/** The plan steps that read a history table by scanning it or by a key that does not bound it. */
function unboundedReads(db: Database.Database, sql: string): string[] {
  const params = (sql.match(/\?/g) ?? []).map(() => null);
  const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
  return plan
    .map((r) => r.detail)
    .filter((d) => {
      const m = /^(SCAN|SEARCH) (\w+)/.exec(d);
      const bound = m ? BOUNDED[m[2]!] : undefined;
      if (!m || !bound) return false;
      return m[1] === 'SCAN' || !bound.test(d);
    });
}

async function deployedTwice(t: { after(fn: () => void): void }): Promise<{ state: RuntimeState; w: DeployWorld }> {
  const state = tempRuntimeState(t);
  const w = deployWorld(state);
  let id = state.startDeployment('dev', 'r1', 'deploy');
  await executeDeploy(apiPlan(state, 'r1', digest(1)), w.deps, id, w.emit);
  state.finishDeployment(id, true);
  id = state.startDeployment('dev', 'r2', 'deploy');
  await executeDeploy(apiPlan(state, 'r2', digest(2)), w.deps, id, w.emit);
  state.finishDeployment(id, true);
  return { state, w };
}

test('the reconciler, the health monitor, status, routes, DNS and a deploy read no history: every statement uses a bounding key', async (t) => {
  const { state, w } = await deployedTwice(t);
  const seen = recordPrepares(state.db);
  const r = reconciler(state, w);
  await r.tick();
  await r.monitor();
  statusView(state, spec, 'dev');
  zoneSnapshotFromState(state, { domain: 'shop.test', lbHost: '127.0.0.1', serverHost: '127.0.0.1' });
  state.events({ env: 'dev', limit: 50 });
  const id = state.startDeployment('dev', 'r3', 'deploy');
  await executeDeploy(apiPlan(state, 'r3', digest(3)), w.deps, id, w.emit);
  state.finishDeployment(id, true);

  const reads = [...seen.texts].filter((s) => /\b(server_groups|servers|events|deployments)\b/.test(s));
  assert.ok(reads.some((s) => /FROM server_groups WHERE state IN/.test(s)), 'the loops\' query of maintained groups was among them');
  assert.ok(reads.some((s) => /FROM server_groups WHERE cluster = \? AND state IN/.test(s)), 'a per-cluster query was among them');
  assert.ok(reads.some((s) => /FROM events WHERE subject = \?/.test(s)), 'status asked for a group\'s failure event');
  const unbounded = reads.map((s) => ({ sql: s, steps: unboundedReads(state.db, s) })).filter((x) => x.steps.length);
  assert.deepEqual(unbounded, []);
});

test('the loops prepare each statement once: a second tick, monitor pass and status prepare nothing', async (t) => {
  const { state, w } = await deployedTwice(t);
  const r = reconciler(state, w);
  await r.tick();
  await r.monitor();
  statusView(state, spec, 'dev');
  await w.routing.pushRoutes();
  const seen = recordPrepares(state.db);
  await r.tick();
  await r.monitor();
  statusView(state, spec, 'dev');
  await w.routing.pushRoutes();
  assert.deepEqual([...seen.texts], []);
  assert.equal(seen.calls(), 0);
});

test('status shows the live groups and a failed group newer than the active one, not the failed ones before it', async (t) => {
  const state = tempRuntimeState(t);
  const w = deployWorld(state);
  const failedGroup = (build: number): string => {
    const name = `api-http-dev-v${String(build).padStart(3, '0')}`;
    state.insertGroup({ name, cluster: 'api-http-dev', build, release: `r${build}`, deployment_id: null, replicas: 2, template: state.group('api-http-dev-v002')?.template ?? ({} as never) });
    state.setGroupState(name, 'failed');
    state.addEvent({ deployment_id: null, env: 'dev', cluster: 'api-http-dev', subject: name, kind: 'group.failed', message: `${name}: not healthy` });
    return name;
  };
  state.ensureCluster({ name: 'api-http-dev', env: 'dev', service: 'api', role: 'http', lb_port: 40100 });
  failedGroup(state.takeBuild('api-http-dev')); // v001, before anything served
  await executeDeploy(apiPlan(state, 'r2', digest(2), ['http']), w.deps, 1, w.emit); // v002
  await executeDeploy(apiPlan(state, 'r3', digest(3), ['http']), w.deps, 2, w.emit); // v003
  failedGroup(state.takeBuild('api-http-dev')); // v004, after the active one
  const c = statusView(state, spec, 'dev').clusters.find((x) => x.name === 'api-http-dev');
  assert.deepEqual(
    c?.groups.map((g) => [g.name, g.state, g.failure]),
    [
      ['api-http-dev-v002', 'disabled', null],
      ['api-http-dev-v003', 'active', null],
      ['api-http-dev-v004', 'failed', 'api-http-dev-v004: not healthy'],
    ],
  );
});
