import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffAfter, CrashLoopTracker, CRASH_LOOP_DEFAULTS } from './crash-loop.js';

test('backoff doubles from 0.5 s and is capped at 30 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffAfter(n)), [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test('a group crash-loops after more failures than servers (at least 3) within the window', () => {
  const t = new CrashLoopTracker();
  const at = 1_000_000;
  assert.equal(t.record('g', 2, at).looping, false);
  assert.equal(t.record('g', 2, at + 100).looping, false);
  const v = t.record('g', 2, at + 3_000);
  assert.deepEqual(v, { failures: 3, threshold: 3, backoffMs: 2000, looping: true });
  // A group of five needs six.
  for (let i = 0; i < 5; i++) assert.equal(t.record('big', 5, at + i).looping, false);
  assert.equal(t.record('big', 5, at + 10).looping, true);
});

test('failures older than the window are forgotten: an occasional crash never adds up to a loop', () => {
  const t = new CrashLoopTracker();
  const w = CRASH_LOOP_DEFAULTS.windowMs;
  for (let i = 0; i < 10; i++) {
    const v = t.record('g', 1, i * (w / 2 + 1));
    assert.equal(v.looping, false, `failure ${i}`);
    assert.ok(v.backoffMs <= 1000);
  }
});

test('a new server waits for the backoff to pass', () => {
  const t = new CrashLoopTracker();
  t.record('g', 2, 1000);
  assert.equal(t.mayStart('g', 1200), false);
  assert.equal(t.mayStart('g', 1500), true);
  assert.equal(t.mayStart('other', 0), true);
  t.forget('g');
  assert.equal(t.count('g', 1200), 0);
});
