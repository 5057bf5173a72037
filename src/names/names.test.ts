import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSuffix, clusterName, serverGroupName, serverName, parseServerGroupName, fqdn, isDnsLabel } from './names.js';
import { KilnError } from '../errors.js';

test('names follow <service>-<role>-<env>-v<build>-<n>', () => {
  const c = clusterName('web', 'http', 'prod');
  assert.equal(c, 'web-http-prod');
  const g = serverGroupName(c, 42);
  assert.equal(g, 'web-http-prod-v042');
  assert.equal(serverName(g, 1), 'web-http-prod-v042-1');
  assert.equal(fqdn(g, 'shop.test'), 'web-http-prod-v042.shop.test');
});

test('build numbers are zero-padded to three digits and never wrap', () => {
  assert.equal(buildSuffix(0), 'v000');
  assert.equal(buildSuffix(7), 'v007');
  assert.equal(buildSuffix(999), 'v999');
  assert.equal(buildSuffix(1000), 'v1000');
  assert.deepEqual(parseServerGroupName('a-b-c-v1000'), { cluster: 'a-b-c', build: 1000 });
  assert.equal(parseServerGroupName('a-b-c'), null);
});

test('a name that cannot fit in a DNS label says which part is too long', () => {
  const longService = 'a'.repeat(50);
  assert.throws(
    () => clusterName(longService, 'http', 'prod'),
    (e: unknown) => e instanceof KilnError && e.code === 'NAME_INVALID' && /service "a{50}" \(50\)/.test(e.message) && /shorten the service/.test(e.hint ?? ''),
  );
});

test('parts must be DNS-safe', () => {
  for (const bad of ['Web', 'we_b', '-web', 'web-', '', 'a/b', '..', 'a\0b']) {
    assert.throws(() => clusterName(bad, 'http', 'dev'), KilnError, bad);
  }
  assert.ok(isDnsLabel('web-http-dev-v001-1'));
  assert.ok(!isDnsLabel('x'.repeat(64)));
});
