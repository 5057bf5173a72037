import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { passableSearchPath } from './build.js';

// A build run as the unprivileged build user gets only the PATH entries it can pass through:
// execvp reports EACCES, not "not found", when an earlier entry is closed (root's /root/go/bin).
test('the build user\'s PATH keeps only directories other users can pass through, in order', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-path-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chmodSync(dir, 0o755);
  const open1 = path.join(dir, 'open1');
  const closed = path.join(dir, 'closed');
  const under = path.join(closed, 'bin');
  const open2 = path.join(dir, 'open2');
  for (const d of [open1, under, open2]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  fs.chmodSync(closed, 0o700);
  const input = [open1, closed, under, path.join(dir, 'missing'), 'relative/bin', open2].join(':');
  assert.equal(passableSearchPath(input), [open1, open2].join(':'));
});

test('a PATH with nothing passable falls back to the system directories', () => {
  assert.equal(passableSearchPath('relative:/no/such/dir'), '/usr/local/bin:/usr/bin:/bin');
});
