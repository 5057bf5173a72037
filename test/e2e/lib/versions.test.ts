import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyseVersions, type TimedResponse } from './versions.js';

const r = (start: number, end: number, version: string): TimedResponse => ({ start, end, version });

test('no responses: no segments', () => {
  assert.deepEqual(analyseVersions([]).segments, []);
  assert.equal(analyseVersions([]).transitions, 0);
});

test('one version throughout: no transition', () => {
  const a = analyseVersions([r(0, 1, 'v1'), r(1, 2, 'v1'), r(0.5, 3, 'v1')]);
  assert.deepEqual(a.segments, ['v1']);
  assert.equal(a.transitions, 0);
});

test('a v1 answered late by the draining group is not a flip back', () => {
  // The v1 request started at 5, before the first v2 response arrived at 8, and completed at 9.
  const a = analyseVersions([r(0, 1, 'v1'), r(2, 3, 'v1'), r(4, 8, 'v2'), r(5, 9, 'v1'), r(10, 11, 'v2'), r(12, 13, 'v2')]);
  assert.deepEqual(a.segments, ['v1', 'v2']);
  assert.equal(a.transitions, 1);
  assert.equal(a.lateArrivals, 1);
});

test('a v1 started after a v2 response was received is a flip back', () => {
  const a = analyseVersions([r(0, 1, 'v1'), r(4, 8, 'v2'), r(8.5, 9, 'v1'), r(10, 11, 'v2')]);
  assert.deepEqual(a.segments, ['v1', 'v2', 'v1', 'v2']);
  assert.equal(a.transitions, 3);
});

test('completion order does not matter, only start and receive times', () => {
  const rs = [r(0, 1, 'v1'), r(2, 3, 'v1'), r(4, 8, 'v2'), r(5, 9, 'v1'), r(10, 11, 'v2')];
  assert.deepEqual(analyseVersions([...rs].reverse()).segments, ['v1', 'v2']);
});

test('a rollback is a second transition back to the first version', () => {
  const a = analyseVersions([r(0, 1, 'v1'), r(2, 3, 'v2'), r(4, 5, 'v2'), r(6, 7, 'v1'), r(6.5, 7.5, 'v2'), r(8, 9, 'v1')]);
  assert.deepEqual(a.segments, ['v1', 'v2', 'v1']);
  assert.equal(a.transitions, 2);
});
