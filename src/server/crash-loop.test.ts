import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CrashLoopFailureLog } from '../store/crash-loop-failures.js';
import { RuntimeState, type GroupTemplate } from '../store/runtime-state.js';
import { openStateDb } from '../store/state-db.js';
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

test('each group uses its own crash-loop numbers (its role\'s health.crash-loop)', () => {
  const own = { windowMs: 10_000, minFailures: 2, initialBackoffMs: 100, maxBackoffMs: 300 };
  const t = new CrashLoopTracker({ configOf: (g) => (g === 'strict' ? own : undefined) });
  assert.deepEqual(t.record('strict', 1, 0), { failures: 1, threshold: 2, backoffMs: 100, looping: false });
  assert.deepEqual(t.record('strict', 1, 50), { failures: 2, threshold: 2, backoffMs: 200, looping: true });
  assert.equal(t.record('strict', 1, 60).backoffMs, 300, 'capped at its own max');
  // Its shorter window forgets sooner; the default group still counts.
  t.record('default', 1, 0);
  assert.equal(t.count('strict', 10_100), 0);
  assert.equal(t.count('default', 10_100), 1);
  assert.equal(t.windowSeconds('strict'), 10);
  assert.equal(t.windowSeconds('default'), CRASH_LOOP_DEFAULTS.windowMs / 1000);
});

test('failure counts survive a control-plane restart (state.db): the loop is still caught', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-crashloop-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db1 = openStateDb(dir);
  const first = new CrashLoopTracker({ log: new CrashLoopFailureLog(db1) });
  const at = Date.parse('2026-11-26T10:00:00Z');
  assert.equal(first.record('web-http-dev-v002', 2, at).looping, false);
  assert.equal(first.record('web-http-dev-v002', 2, at + 1_000).looping, false);
  first.record('other', 1, at - 120_000); // outside the window by the time of the restart
  db1.close(); // the control plane is killed

  const db2 = openStateDb(dir);
  t.after(() => db2.close());
  const log = new CrashLoopFailureLog(db2);
  const second = new CrashLoopTracker({ log });
  assert.equal(second.count('web-http-dev-v002', at + 1_200), 2, 'the count continues');
  assert.equal(second.mayStart('web-http-dev-v002', at + 1_500), false, 'and so does the backoff (1 s after the 2nd failure)');
  assert.equal(second.mayStart('web-http-dev-v002', at + 2_000), true);
  assert.deepEqual(second.record('web-http-dev-v002', 2, at + 2_500), { failures: 3, threshold: 3, backoffMs: 2000, looping: true });
  assert.equal(second.count('other', at + 2_500), 0);
  // Each insert keeps only the window: the table never grows with a long-lived flapping group.
  for (let i = 0; i < 20; i++) second.record('flappy', 1, at + i * 40_000);
  assert.ok(log.times('flappy').length <= 2);
  // A rolled-back group is forgotten in state.db too.
  second.forget('web-http-dev-v002');
  assert.deepEqual(log.times('web-http-dev-v002'), []);
});

test('rows of groups no longer maintained are dropped at start', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-crashloop-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db = openStateDb(dir);
  t.after(() => db.close());
  const state = new RuntimeState(db);
  state.ensureCluster({ name: 'web-http-dev', env: 'dev', service: 'web', role: 'http', lb_port: null });
  for (const [build, st] of [[1, 'disabled'], [2, 'failed']] as const) {
    const name = `web-http-dev-v00${build}`;
    state.insertGroup({ name, cluster: 'web-http-dev', build, release: 'r1', deployment_id: null, replicas: 1, template: {} as GroupTemplate });
    state.setGroupState(name, st);
  }
  const log = new CrashLoopFailureLog(db);
  for (const g of ['web-http-dev-v001', 'web-http-dev-v002', 'gone']) log.add(g, 1, 0);
  log.keepOnly(['active', 'draining', 'disabled']);
  assert.deepEqual([log.times('web-http-dev-v001'), log.times('web-http-dev-v002'), log.times('gone')], [[1], [], []]);
});
