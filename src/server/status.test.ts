// `kiln status` headlines what serves (issue 13, item 6): after a failed deploy of r3, the
// environment still serves r2, and the first line says so before it says that r3 failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatStatus, servingReleases, withCanaries, type StatusGroup, type StatusView } from './status.js';
import type { CanaryRow } from '../store/canaries.js';

const group = (name: string, release: string, state: string): StatusGroup => ({ name, build: 1, release, state, replicas: 2, healthy: state === 'active' ? 2 : 0, servers: [], failure: null });

const view = (last: StatusView['lastDeployment']): StatusView => ({
  project: 'shop',
  env: 'dev',
  lastDeployment: last,
  clusters: [
    { name: 'api-http-dev', env: 'dev', service: 'api', role: 'http', host: null, url: null, active: 'api-http-dev-v002', groups: [group('api-http-dev-v002', 'r2', 'active'), group('api-http-dev-v003', 'r3', 'failed')] },
    { name: 'web-http-dev', env: 'dev', service: 'web', role: 'http', host: null, url: null, active: 'web-http-dev-v002', groups: [group('web-http-dev-v002', 'r2', 'active')] },
  ],
});

test('the first line names the release that serves, and a failed last deploy next to it', () => {
  const text = formatStatus(view({ id: 4, release: 'r3', state: 'failed', kind: 'deploy' }));
  assert.equal(text.split('\n')[0], 'dev: r2 serves; last deploy r3 failed');
  assert.deepEqual(Object.fromEntries(servingReleases(view(null))), { dev: ['r2'] });
});

test('a successful last deploy of what serves is not repeated; states can be painted for a terminal', () => {
  const ok = view({ id: 5, release: 'r2', state: 'succeeded', kind: 'deploy' });
  assert.equal(formatStatus(ok).split('\n')[0], 'dev: r2 serves');
  const painted = formatStatus(ok, (state, t) => (state === 'active' ? `<${t}>` : t));
  assert.match(painted, /api-http-dev-v002 {2}r2 {2}<active {2}>/);
  assert.doesNotMatch(formatStatus(ok), /\u001b/, 'plain text by default');
});

test('a canary in progress is shown on its cluster: its group, weight, step and state, and how to steer it', () => {
  const spec = { steps: [{ weight: 10, forMs: 60_000 }, { weight: 50, pause: 'manual' as const }], gates: { minRequests: 100, max5xxIncrease: 1, maxP99Ratio: 2, p99FloorMs: 5 } };
  const row: CanaryRow = {
    cluster: 'api-http-dev', deployment: 7, env: 'dev', canaryGroup: 'api-http-dev-v003', stableGroup: 'api-http-dev-v002', spec,
    step: 1, weight: 50, stepStarted: 1000, pausedMs: 0, pausedAt: null, promote: false, abort: false, done: false, baseline: null, lastGate: null, decision: 'await-promote',
  };
  const v = withCanaries(view(null), [row], 5000);
  assert.deepEqual(v.clusters[0]!.canary, { group: 'api-http-dev-v003', stable: 'api-http-dev-v002', step: 2, steps: 2, weight: 50, state: 'awaiting-promote' });
  assert.equal(v.clusters[1]!.canary, undefined, 'the other cluster has none');
  assert.match(formatStatus(v), /^ {2}canary: api-http-dev-v003 takes 50% \(step 2 of 2, awaiting-promote\), api-http-dev-v002 the rest; kiln rollout status api-http-dev --env dev$/m);
  assert.doesNotMatch(formatStatus(withCanaries(view(null), [], 0)), /canary/);
});
