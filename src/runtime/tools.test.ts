import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { missingRuntimeTools, missingToolsError, onPath, requireRuntimeTools, runtimeTools } from './tools.js';
import { KilnError } from '../errors.js';

function binDir(t: { after: (fn: () => void) => void }, programs: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-tools-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const p of programs) fs.writeFileSync(path.join(dir, p), '#!/bin/sh\n', { mode: 0o755 });
  return dir;
}

test('a program counts only as an executable file on PATH', (t) => {
  const dir = binDir(t, ['podman']);
  fs.writeFileSync(path.join(dir, 'skopeo'), 'not executable', { mode: 0o644 });
  fs.mkdirSync(path.join(dir, 'umoci'));
  const env = { PATH: `/nonexistent:${dir}` };
  assert.equal(onPath('podman', env), true);
  assert.equal(onPath('skopeo', env), false);
  assert.equal(onPath('umoci', env), false);
  assert.equal(onPath(path.join(dir, 'podman'), { PATH: '' }), true);
});

test('podman needs podman and skopeo (as configured); process needs nothing', (t) => {
  assert.deepEqual(runtimeTools('process'), []);
  assert.deepEqual(runtimeTools('podman', { podman: '/opt/podman', skopeo: 'skopeo2' }), ['/opt/podman', 'skopeo2']);
  const dir = binDir(t, ['skopeo']);
  assert.deepEqual(missingRuntimeTools('podman', {}, { PATH: dir }), ['podman']);
  assert.deepEqual(missingRuntimeTools('process', {}, { PATH: '' }), []);
});

test('the error names the environment, the runtime, the programs and what to install', () => {
  const e = missingToolsError('staging', 'podman', ['podman', 'skopeo']);
  assert.equal(e.code, 'RUNTIME_UNAVAILABLE');
  assert.equal(e.message, 'environment staging runs on podman, but podman and skopeo are not installed on this machine');
  assert.match(e.hint ?? '', /apt-get install -y podman runc skopeo uidmap/);
  assert.equal(missingToolsError('staging', 'podman', ['skopeo']).message, 'environment staging runs on podman, but skopeo is not installed on this machine');
});

test('requireRuntimeTools throws only for a runtime with a missing program', () => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    requireRuntimeTools('dev', 'process');
    assert.throws(() => requireRuntimeTools('staging', 'podman'), (e: unknown) => e instanceof KilnError && /environment staging/.test(e.message));
  } finally {
    process.env.PATH = saved;
  }
});
