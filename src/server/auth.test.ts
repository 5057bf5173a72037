import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenMatches } from './auth.js';

test('token comparison accepts only the exact token', () => {
  assert.equal(tokenMatches('abc123', 'abc123'), true);
  assert.equal(tokenMatches('abc123', 'abc124'), false);
  assert.equal(tokenMatches('abc123', 'abc1234'), false);
  assert.equal(tokenMatches('abc123', ''), false);
  assert.equal(tokenMatches('abc123', undefined), false);
});
