import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rebuildVersion } from './version.js';

test('a rebuild tag: the head version plus 8 hex of the content digest, never stacked', () => {
  const d1 = 'sha256:3f2a9c1e' + '0'.repeat(56);
  const d2 = 'sha256:77aa1b2c' + '1'.repeat(56);
  assert.equal(rebuildVersion('1.4.2', d1), '1.4.2-3f2a9c1e');
  assert.equal(rebuildVersion('1.4.2-3f2a9c1e', d2), '1.4.2-77aa1b2c');
  assert.equal(rebuildVersion('1.4.2-3f2a9c1e.2', d2), '1.4.2-77aa1b2c');
  assert.equal(rebuildVersion(null, d1), '0.0.0-3f2a9c1e');
  assert.equal(rebuildVersion('2.0.0-rc1', d1), '2.0.0-rc1-3f2a9c1e', 'a suffix that is not 8 hex is part of the version');
});
