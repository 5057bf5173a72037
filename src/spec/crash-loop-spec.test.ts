// health.crash-loop in kiln.yaml: defaults equal the tracker's, values reach the role's health
// spec in milliseconds, and bad values are reported at file:line:column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CRASH_LOOP_DEFAULTS } from '../server/crash-loop.js';
import { load, problemsOf } from './testkit.js';

const project = (health: string): string =>
  [
    'project: shop',
    'services:',
    '  api:',
    '    app: { path: apps/api, run: [node, server.js] }',
    '    roles:',
    `      http: { port: http, health: ${health} }`,
    'environments:',
    '  dev: {}',
    '',
  ].join('\n');

test('crash-loop settings are read per role, in milliseconds, with the tracker\'s defaults for the rest', () => {
  const spec = load(project('{ path: /healthz, crash-loop: { window: 2m, failures: 5, backoff: { max: 4s } } }'));
  assert.deepEqual(spec.services.api?.roles.http?.health?.crashLoop, {
    windowMs: 120_000,
    minFailures: 5,
    initialBackoffMs: CRASH_LOOP_DEFAULTS.initialBackoffMs,
    maxBackoffMs: 4_000,
  });
  const all = load(project('{ path: /healthz, crash-loop: {} }'));
  assert.deepEqual(all.services.api?.roles.http?.health?.crashLoop, CRASH_LOOP_DEFAULTS, 'the schema defaults are the tracker defaults');
  // Not written: no crashLoop at all, so releases of projects that never set it are unchanged.
  assert.equal(load(project('/healthz')).services.api?.roles.http?.health?.crashLoop, undefined);
});

test('bad crash-loop settings are reported at their place, saying what to do', () => {
  const at = (p: { line: number | undefined; column: number | undefined }): string => `${p.line}:${p.column}`;
  const wrong = problemsOf(project('{ path: /h, crash-loop: { window: soon, failures: 0, backof: {} } }'));
  assert.equal(wrong.length, 3, wrong.map((p) => p.message).join('\n'));
  assert.equal(at(wrong.find((p) => /crash-loop\.window must be a duration/.test(p.message))!), '6:69');
  assert.equal(at(wrong.find((p) => /crash-loop\.failures must be an integer from 1 to 1000, got 0/.test(p.message))!), '6:85');
  const typo = wrong.find((p) => /backof/.test(p.message))!;
  assert.match(typo.hint ?? '', /did you mean "backoff"/);

  const order = problemsOf(project('{ path: /h, crash-loop: { window: 0s, backoff: { initial: 1m, max: 10s } } }'));
  assert.equal(order.length, 2, order.map((p) => p.message).join('\n'));
  const zero = order.find((p) => /window is 0/.test(p.message))!;
  assert.equal(at(zero), '6:69');
  const inverted = order.find((p) => /backoff\.initial \(60000 ms\) is longer than backoff\.max \(10000 ms\)/.test(p.message))!;
  assert.equal(at(inverted), '6:93');
  assert.match(inverted.hint ?? '', /at most max/);
});
