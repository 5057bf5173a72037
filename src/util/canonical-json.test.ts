import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from './canonical-json.js';

test('sorts keys at every depth and drops whitespace', () => {
  const a = canonicalJson({ b: 1, a: { z: [3, { y: true, x: null }], c: 'é' } });
  assert.equal(a, '{"a":{"c":"é","z":[3,{"x":null,"y":true}]},"b":1}');
});

test('key order of the input does not change the output', () => {
  assert.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
});

test('undefined object fields are dropped; bad values throw', () => {
  assert.equal(canonicalJson({ a: undefined, b: 2 }), '{"b":2}');
  assert.throws(() => canonicalJson({ a: NaN }), /non-finite/);
  assert.throws(() => canonicalJson([undefined]), /undefined/);
  assert.throws(() => canonicalJson({ f: () => 1 }), /cannot encode function/);
});

test('output parses back to an equal value', () => {
  const v = { s: 'a"b\\c\n', n: -1.5e-7, arr: [] as unknown[], o: {} };
  assert.deepEqual(JSON.parse(canonicalJson(v)), v);
});
