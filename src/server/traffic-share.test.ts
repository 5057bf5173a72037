import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trafficShares, TrafficSampler } from './traffic-share.js';
import type { StatusView } from './status.js';

const group = (name: string) => ({ name, build: 1, release: 'r1', state: 'active', replicas: 1, healthy: 1, servers: [], failure: null });
const view: StatusView = {
  project: 'shop',
  env: 'dev',
  lastDeployment: null,
  clusters: [{ name: 'api-http-dev', env: 'dev', service: 'api', role: 'http', host: null, url: null, active: 'api-http-dev-v002', groups: [group('api-http-dev-v001'), group('api-http-dev-v002')] }],
};
const shares = (v: StatusView) => v.clusters[0]!.groups.map((g) => g.traffic);

test('a group\'s share is of what the cluster answered since the older sample, not since the proxy started', () => {
  const before = { at: 0, proxy: 1, answered: { 'api-http-dev-v001': 1000, 'api-http-dev-v002': 0 } };
  const now = { at: 2000, proxy: 1, answered: { 'api-http-dev-v001': 1010, 'api-http-dev-v002': 30 } };
  assert.deepEqual(shares(trafficShares(view, before, now)), [{ share: 25, answered: 1010 }, { share: 75, answered: 30 }]);
});

test('no requests in the window, or a restarted proxy, is no share (null), never a made-up 0 or 100', () => {
  const s = { at: 0, proxy: 1, answered: { 'api-http-dev-v001': 5 } };
  assert.deepEqual(shares(trafficShares(view, s, { ...s, at: 1000 })), [{ share: null, answered: 5 }, { share: null, answered: 0 }]);
  assert.deepEqual(shares(trafficShares(view, s, { at: 1000, proxy: 2, answered: { 'api-http-dev-v001': 9 } })), [{ share: null, answered: 9 }, { share: null, answered: 0 }]);
});

test('the sampler answers the oldest sample of the last five seconds of the same proxy', () => {
  const t = new TrafficSampler();
  assert.equal(t.add({ at: 0, proxy: 1, answered: {} }), undefined);
  assert.equal(t.add({ at: 3000, proxy: 1, answered: {} })?.at, 0);
  assert.equal(t.add({ at: 6000, proxy: 1, answered: {} })?.at, 3000);
  assert.equal(t.add({ at: 6500, proxy: 2, answered: {} }), undefined);
});
