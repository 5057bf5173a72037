// What `kiln deploy --canary --dry-run` shows, from a plan and the roles' canary specs: only the
// clusters that change, each step with its weight and how it ends, and every gate with its limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canaryPlanView, formatCanaryPlan } from './plan.js';
import type { ClusterPlan, DeployPlan } from '../deploy/plan.js';
import type { CanarySpec } from '../spec/types.js';

const cluster = (name: string, action: ClusterPlan['action'], group: string, previous: string): ClusterPlan =>
  ({ cluster: name, service: 'api', role: 'http', action, group, build: 3, replicas: 2, previous, lbPort: 40001 }) as unknown as ClusterPlan;

const plan = { project: 'shop', env: 'prod', runtime: 'process', release: 'r3', clusters: [cluster('api-http-prod', 'create', 'api-http-prod-v003', 'api-http-prod-v002'), cluster('web-http-prod', 'unchanged', 'web-http-prod-v001', 'web-http-prod-v001')] } as unknown as DeployPlan;

const spec: CanarySpec = {
  steps: [{ weight: 10, forMs: 120_000 }, { weight: 50, pause: 'manual' }],
  gates: { minRequests: 500, max5xxIncrease: 1, maxP99Ratio: 1.5, p99FloorMs: 5, warmupMs: 2000, prometheus: { url: 'http://127.0.0.1:9090', query: 'sum(x{group="$canary"})', max: 0.5 } },
};

test('the view lists the changing clusters with their canary and stable groups, steps and gates', () => {
  const views = canaryPlanView(plan, new Map([['api-http-prod', spec], ['web-http-prod', spec]]));
  assert.deepEqual(views, [
    {
      cluster: 'api-http-prod',
      canary: 'api-http-prod-v003',
      stable: 'api-http-prod-v002',
      steps: [{ step: 1, weight: 10, forMs: 120_000, manual: false }, { step: 2, weight: 50, forMs: null, manual: true }],
      gates: spec.gates,
    },
  ]);
  assert.deepEqual(formatCanaryPlan(views, 'prod'), [
    'canary (--canary): each cluster below goes through its steps before the switch; a failed gate aborts them all',
    '  api-http-prod: api-http-prod-v003 against api-http-prod-v002',
    '    step 1: 10% of the requests for at least 2m, once its gates pass',
    '    step 2: 50% of the requests until kiln rollout promote api-http-prod --env prod',
    '    then: 100% (the one-step switch; api-http-prod-v002 kept for rollback)',
    '    gates: at least 500 requests per group and step (fewer: the step holds); 5xx at most +1 points above the stable group\'s; p99 at most 1.5× the stable group\'s (a p99 under 5ms counts as 5ms); the first 2s of each step not counted; prometheus http://127.0.0.1:9090: sum(x{group="$canary"}) at most 0.5',
  ]);
});

test('nothing changing: no canary would run, and the dry run says so', () => {
  const same = { ...plan, clusters: [plan.clusters[1]!] };
  assert.deepEqual(formatCanaryPlan(canaryPlanView(same, new Map()), 'prod'), ['canary: no cluster changes, so no canary would run']);
});
