import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { SYSTEM_UMASK, withUmask } from './umask.js';

test('a child spawned through withUmask gets that umask; Kiln keeps its own', () => {
  const mine = process.umask(0o077);
  try {
    const inside = withUmask(SYSTEM_UMASK, () => spawnSync('sh', ['-c', 'umask'], { encoding: 'utf8' }));
    assert.equal(inside.stdout.trim(), '0022');
    assert.equal(process.umask(), 0o077);
    assert.equal(spawnSync('sh', ['-c', 'umask'], { encoding: 'utf8' }).stdout.trim(), '0077');
  } finally {
    process.umask(mine);
  }
});
