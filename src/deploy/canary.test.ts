// The canary runner as data (testkit.ts's recording runtime and proxy, a real state.db): the
// weights the proxy is sent step by step, promotion to the ordinary switch, an abort on the gates'
// numbers back to the stable group with the canary destroyed, and a manual step that waits for
// `rollout promote` written to the canaries table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempRuntimeState } from '../store/testkit.js';
import type { RuntimeState } from '../store/runtime-state.js';
import { Canaries } from '../store/canaries.js';
import { buildRouteTable } from '../server/route-table.js';
import { FineHistogram } from '../metrics/fine-histogram.js';
import type { GroupCounts, ProxyStats, RouteTable } from '../proxy/routes.js';
import type { CanarySpec } from '../spec/types.js';
import { executeDeploy } from './execute.js';
import { executeCanary, runCanary, type CanaryDeps } from './canary.js';
import { apiPlan, deployWorld } from './testkit.js';
import { proxyLoadBalancer } from './confirm-routes.js';

const digest = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const gates = { minRequests: 50, max5xxIncrease: 1, maxP99Ratio: 2, p99FloorMs: 5 };

/** A world whose proxy keeps every table, and whose /stats grow by `perTick` each time they are read. */
function canaryWorld(state: RuntimeState, perTick: { stable: [number, number]; canary: [number, number] }) {
  const w = deployWorld(state);
  const canaries = new Canaries(state.db);
  const tables: RouteTable[] = [];
  let version = 100;
  const totals = new Map<string, { n: number; e: number }>();
  const latency = (n: number): Array<[number, number]> => {
    const h = new FineHistogram();
    h.counts[h.counts.length >> 2] = n;
    return h.sparse();
  };
  const deps: CanaryDeps = {
    ...w.deps,
    lb: proxyLoadBalancer({
      ...w.routing,
      pushRoutes: async () => {
        const t = buildRouteTable(state, 'shop.test', ++version, [], canaries.weights());
        tables.push(t);
        w.proxy.table = t;
      },
    }),
    canaries,
    tickMs: 1,
    promQuery: async () => null,
    proxyStats: async (): Promise<ProxyStats> => {
      const groups: Record<string, GroupCounts> = {};
      for (const r of canaries.all()) {
        for (const [g, [n, e]] of [[r.stableGroup, perTick.stable], [r.canaryGroup, perTick.canary]] as const) {
          const t = totals.get(g) ?? { n: 0, e: 0 };
          t.n += n;
          t.e += e;
          totals.set(g, t);
          groups[g] = { answered: t.n, errors5xx: t.e, latency: latency(t.n) };
        }
      }
      return { version, requests: 0, failed: 0, inFlight: {}, tunnels: {}, fallbacks: {}, groups, startedAt: 1 };
    },
  };
  return { ...w, deps, canaries, tables };
}

const weightsSent = (tables: RouteTable[]): Array<number | null> =>
  tables.map((t) => t.clusters.find((c) => c.name === 'api-http-dev')?.canary?.weight ?? null).filter((x, i, a) => i === 0 || a[i - 1] !== x);

test('a healthy canary goes 10% -> 50% -> the one-step switch; the stable group is kept for rollback', async (t) => {
  const state = tempRuntimeState(t);
  const world = canaryWorld(state, { stable: [100, 0], canary: [20, 0] });
  await executeDeploy(apiPlan(state, 'r1', digest(1), ['http']), world.deps, 1, world.emit);
  const spec: CanarySpec = { steps: [{ weight: 10, forMs: 0 }, { weight: 50, forMs: 0 }], gates };
  const out = await executeCanary(apiPlan(state, 'r2', digest(2), ['http']), world.deps, state.startDeployment('dev', 'r2', 'deploy'), new Map([['api-http-dev', spec]]), world.emit);
  assert.equal(out.outcome, 'promoted');
  assert.deepEqual(out.groups, [{ cluster: 'api-http-dev', group: 'api-http-dev-v002', previous: 'api-http-dev-v001' }]);
  assert.deepEqual(weightsSent(world.tables), [null, 10, 50, null]);
  const last = world.tables.at(-1)!.clusters[0]!;
  assert.equal(last.active, 'api-http-dev-v002');
  assert.equal(state.group('api-http-dev-v001')?.state, 'disabled');
  assert.deepEqual(world.canaries.all(), [], 'no canary row is left');
  assert.ok(world.events.some((e) => e.kind === 'canary.step' && /gates passed/.test(e.message)));
});

test('a canary answering 10% 5xx is aborted: every request back to stable at once, the canary destroyed, the numbers returned', async (t) => {
  const state = tempRuntimeState(t);
  const world = canaryWorld(state, { stable: [100, 0], canary: [20, 2] });
  await executeDeploy(apiPlan(state, 'r1', digest(1), ['http']), world.deps, 1, world.emit);
  const spec: CanarySpec = { steps: [{ weight: 10, forMs: 60_000 }], gates };
  const out = await executeCanary(apiPlan(state, 'r2', digest(2), ['http']), world.deps, state.startDeployment('dev', 'r2', 'deploy'), new Map([['api-http-dev', spec]]), world.emit);
  assert.equal(out.outcome, 'aborted');
  assert.equal(out.failure?.result?.verdict, 'fail');
  assert.match(out.failure!.lines[0]!, /^5xx: canary 10% \(\d+\/\d+\) vs stable 0% \(0\/\d+\): \+10 points, limit \+1$/);
  // It failed on the minimum sample, not at the end of the step's minute.
  assert.ok(out.failure!.result!.canary.requests < 200, `aborted after ${out.failure!.result!.canary.requests} canary requests`);
  assert.deepEqual(weightsSent(world.tables), [null, 10, null]);
  assert.equal(world.tables.at(-1)!.clusters[0]!.active, 'api-http-dev-v001');
  assert.equal(state.group('api-http-dev-v002')?.state, 'failed');
  assert.deepEqual(world.runtime.live(), ['api-http-dev-v001-1', 'api-http-dev-v001-2'], 'only the stable servers run');
});

test('too little traffic holds a step; a manual step waits for promote, read from the canaries table', async (t) => {
  const state = tempRuntimeState(t);
  const world = canaryWorld(state, { stable: [1, 0], canary: [1, 0] });
  await executeDeploy(apiPlan(state, 'r1', digest(1), ['http']), world.deps, 1, world.emit);
  const spec: CanarySpec = { steps: [{ weight: 10, forMs: 0 }, { weight: 20, pause: 'manual' }], gates: { ...gates, minRequests: 1_000_000 } };
  const running = executeCanary(apiPlan(state, 'r2', digest(2), ['http']), world.deps, state.startDeployment('dev', 'r2', 'deploy'), new Map([['api-http-dev', spec]]), world.emit);
  const until = async (f: () => boolean): Promise<void> => {
    while (!f()) await new Promise((r) => setTimeout(r, 2));
  };
  await until(() => world.canaries.of('api-http-dev')?.decision === 'hold');
  assert.equal(world.canaries.of('api-http-dev')?.step, 0, 'inconclusive: it does not pass');
  world.canaries.askPromote('api-http-dev');
  await until(() => world.canaries.of('api-http-dev')?.decision === 'await-promote');
  assert.equal(world.canaries.of('api-http-dev')?.weight, 20);
  world.canaries.askPromote('api-http-dev');
  assert.equal((await running).outcome, 'promoted');
  assert.deepEqual(weightsSent(world.tables), [null, 10, 20, null]);
});

test('a control plane that stops leaves its canary as it is in state.db; runCanary of the next one goes on from the stored step', async (t) => {
  const state = tempRuntimeState(t);
  const world = canaryWorld(state, { stable: [100, 0], canary: [20, 0] });
  await executeDeploy(apiPlan(state, 'r1', digest(1), ['http']), world.deps, 1, world.emit);
  const spec: CanarySpec = { steps: [{ weight: 10, forMs: 0 }, { weight: 40, pause: 'manual' }], gates };
  let stopping = false;
  const id = state.startDeployment('dev', 'r2', 'deploy');
  const first = executeCanary(apiPlan(state, 'r2', digest(2), ['http']), { ...world.deps, stopping: () => stopping }, id, new Map([['api-http-dev', spec]]), world.emit);
  while (world.canaries.of('api-http-dev')?.decision !== 'await-promote') await new Promise((r) => setTimeout(r, 2));
  stopping = true;
  assert.equal((await first).outcome, 'interrupted');
  const kept = world.canaries.of('api-http-dev')!;
  assert.equal(kept.step, 1);
  assert.equal(kept.weight, 40);
  assert.equal(state.group('api-http-dev-v002')?.state, 'canary', 'the canary group still runs and takes its share');
  // The next control plane: a promote given meanwhile is in the row; the run finishes the canary.
  world.canaries.askPromote('api-http-dev');
  const next = await runCanary(world.deps, id, { deployment: id, release: 'r2', env: 'dev' }, world.emit);
  assert.equal(next.outcome, 'promoted');
  assert.equal(state.group('api-http-dev-v002')?.state, 'active');
});
