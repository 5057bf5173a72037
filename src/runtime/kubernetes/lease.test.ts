import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { holderIdentity, holderIsGoneHere } from './lease.js';

test('a lease holder of this host is gone when its pid no longer runs; a live one and one elsewhere are not', () => {
  assert.equal(holderIsGoneHere(holderIdentity()), false);
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const dead = Number(child.stdout);
  assert.equal(holderIsGoneHere(`${os.hostname()}/${dead}/12345`), true);
  // The same pid with another start time is another process: the holder is gone.
  const [host, pid, start] = holderIdentity().split('/');
  assert.equal(holderIsGoneHere(`${host}/${pid}/${Number(start) + 1}`), true);
  // Another host's holder cannot be checked here: only its lease's expiry frees it.
  assert.equal(holderIsGoneHere(`not-${os.hostname()}/${dead}/12345`), false);
  assert.equal(holderIsGoneHere('garbage'), false);
});
