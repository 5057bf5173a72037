// The gate arithmetic and the step decisions, on counts made up to the request: the verdicts a
// canary deploy acts on (deploy/canary.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailure, evaluateGates, windowOf, CANARY_GATE_DEFAULTS } from './gates.js';
import { decideStep, stepElapsedMs } from './steps.js';
import { fineBucketOf, fineQuantile, fineUpperBound, FineHistogram } from '../metrics/fine-histogram.js';
import type { GroupCounts } from '../proxy/routes.js';

/** `n` answers, `errors` of them 5xx, every one taking `ms`. */
function counts(n: number, errors: number, ms: number): GroupCounts {
  const h = new FineHistogram();
  for (let i = 0; i < n; i++) h.observe(ms / 1000);
  return { answered: n, errors5xx: errors, latency: h.sparse() };
}

const gates = { ...CANARY_GATE_DEFAULTS, minRequests: 100, max5xxIncrease: 1, maxP99Ratio: 2, p99FloorMs: 5 };

test('fewer requests than the minimum on either side is inconclusive, never a pass (nor a fail)', () => {
  assert.equal(evaluateGates(gates, counts(99, 0, 10), counts(5000, 0, 10)).verdict, 'inconclusive');
  assert.equal(evaluateGates(gates, counts(99, 99, 900), counts(5000, 0, 10)).verdict, 'inconclusive', 'bad but too little data: holds');
  assert.equal(evaluateGates(gates, counts(500, 0, 10), counts(99, 0, 10)).verdict, 'inconclusive', 'the stable side needs its sample too');
  const r = evaluateGates(gates, counts(0, 0, 0), counts(0, 0, 0));
  assert.equal(r.verdict, 'inconclusive');
  assert.deepEqual(r.checks, [{ gate: 'min-requests', value: 0, limit: 100, ok: false }]);
  assert.equal(evaluateGates(gates, counts(100, 0, 10), counts(100, 0, 10)).verdict, 'pass');
});

test('the 5xx gate compares rates in percentage points above the stable group\'s', () => {
  const fail = evaluateGates(gates, counts(1000, 50, 10), counts(9000, 0, 10));
  assert.equal(fail.verdict, 'fail');
  assert.deepEqual(fail.checks.find((c) => c.gate === 'max-5xx-increase'), { gate: 'max-5xx-increase', value: 5, limit: 1, ok: false });
  assert.deepEqual(describeFailure(fail), ['5xx: canary 5% (50/1000) vs stable 0% (0/9000): +5 points, limit +1']);
  // The same 5% on both sides is no increase: the canary is not worse than what serves.
  assert.equal(evaluateGates(gates, counts(1000, 50, 10), counts(9000, 450, 10)).verdict, 'pass');
  // Exactly at the limit passes; just above fails.
  assert.equal(evaluateGates(gates, counts(1000, 10, 10), counts(1000, 0, 10)).verdict, 'pass');
  assert.equal(evaluateGates(gates, counts(1000, 11, 10), counts(1000, 0, 10)).verdict, 'fail');
});

test('the p99 gate is a ratio of the two groups\' p99, with a floor under both', () => {
  const slow = evaluateGates(gates, counts(1000, 0, 30), counts(1000, 0, 10));
  assert.equal(slow.verdict, 'fail');
  const check = slow.checks.find((c) => c.gate === 'max-p99-ratio')!;
  assert.ok(check.value! > 2.7 && check.value! < 3.3, `3× slower is about 3×: ${check.value}`);
  assert.match(describeFailure(slow)[0]!, /^p99: canary [0-9.]+ ms vs stable [0-9.]+ ms: [0-9.]+×, limit 2×$/);
  // 0.4 ms vs 1.2 ms is 3×, but both are under the 5 ms floor: jitter, not a regression.
  assert.equal(evaluateGates(gates, counts(1000, 0, 1.2), counts(1000, 0, 0.4)).verdict, 'pass');
  // p99, not the mean: 2% of requests 10× slower move it.
  const tail = windowOf(counts(1000, 0, 10), undefined);
  const h = new FineHistogram();
  for (let i = 0; i < 20; i++) h.observe(0.1);
  const spiky: GroupCounts = { ...tail, answered: 1020, latency: [...tail.latency, ...h.sparse()] };
  assert.equal(evaluateGates(gates, spiky, counts(1000, 0, 10)).verdict, 'fail');
});

test('a window is the counts since the step began, bucket by bucket', () => {
  const before = counts(100, 5, 10);
  const now: GroupCounts = { answered: 300, errors5xx: 5, latency: [[fineBucketOf(0.01), 250], [fineBucketOf(0.5), 50]] };
  assert.deepEqual(windowOf(now, before), { answered: 200, errors5xx: 0, latency: [[fineBucketOf(0.01), 150], [fineBucketOf(0.5), 50]] });
  assert.deepEqual(windowOf(undefined, undefined), { answered: 0, errors5xx: 0, latency: [] });
});

test('the fine histogram reads a quantile within 5% of the true value', () => {
  for (const ms of [0.05, 0.3, 1, 7.5, 20, 123, 4000]) {
    const q = fineQuantile([[fineBucketOf(ms / 1000), 1]], 0.99)! * 1000;
    assert.ok(q >= ms * 0.999 && q <= ms * 1.05 + 0.1, `${ms} ms read as ${q} ms`);
  }
  assert.equal(fineQuantile([], 0.99), null);
  // p99 of 99 fast and 1 slow is the fast one; of 98 and 2, the slow.
  assert.equal(fineQuantile([[10, 99], [100, 1]], 0.99), fineUpperBound(10));
  assert.equal(fineQuantile([[10, 98], [100, 2]], 0.99), fineUpperBound(100));
});

test('step decisions: a failure aborts even when paused; too little data holds after the time; manual waits for promote', () => {
  const timed = { weight: 10, forMs: 3000 };
  const base = { step: timed, elapsedMs: 5000, paused: false, promote: false };
  assert.equal(decideStep({ ...base, verdict: 'pass' }), 'next');
  assert.equal(decideStep({ ...base, verdict: 'inconclusive' }), 'hold');
  assert.equal(decideStep({ ...base, elapsedMs: 2999, verdict: 'pass' }), 'wait');
  assert.equal(decideStep({ ...base, verdict: 'fail' }), 'abort');
  assert.equal(decideStep({ ...base, paused: true, verdict: 'fail' }), 'abort');
  assert.equal(decideStep({ ...base, paused: true, verdict: 'pass' }), 'paused');
  assert.equal(decideStep({ ...base, promote: true, verdict: 'fail' }), 'abort', 'promote does not overrule a measured failure');
  assert.equal(decideStep({ ...base, promote: true, elapsedMs: 0, verdict: 'inconclusive' }), 'next');
  const manual = { weight: 50, pause: 'manual' as const };
  assert.equal(decideStep({ ...base, step: manual, elapsedMs: 10 ** 9, verdict: 'pass' }), 'await-promote');
  assert.equal(decideStep({ ...base, step: manual, promote: true, verdict: 'pass' }), 'next');
  // The clock without pauses: 10 s since the start, 3 s paused before, paused again for the last 2 s.
  assert.equal(stepElapsedMs(10_000, 0, 3_000, 8_000), 5_000);
  assert.equal(stepElapsedMs(10_000, 0, 3_000, null), 7_000);
});
