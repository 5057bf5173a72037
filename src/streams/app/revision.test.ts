import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sourceRevision } from './revision.js';
import { diffReleases, formatReleaseDiff } from '../../release/diff.js';
import type { ReleaseManifest } from '../../release/types.js';

test('an app tag records the git commit of its source, +dirty when it has uncommitted changes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-rev-'));
  try {
    assert.equal(sourceRevision(dir), undefined, 'outside a git work tree there is none');
    const git = (...args: string[]): string => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' }).trim();
    git('init', '-q');
    fs.mkdirSync(path.join(dir, 'app'));
    fs.writeFileSync(path.join(dir, 'app', 'server.js'), 'v1');
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    const head = git('rev-parse', 'HEAD').slice(0, 12);
    assert.equal(sourceRevision(path.join(dir, 'app')), head);
    fs.writeFileSync(path.join(dir, 'app', 'server.js'), 'v2');
    assert.equal(sourceRevision(path.join(dir, 'app')), `${head}+dirty`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('release diff shows the source revisions of changed app tags', () => {
  const svc = (tag: string, digest: string) => ({ app: { stream: 'app/api', tag, digest }, run: ['node'], roles: {}, flags: {} });
  const m = (n: number, tag: string, digest: string): ReleaseManifest => ({
    schema: 'kiln.release.v1', project: 'p', name: `r${n}`, number: n, parent: null, createdAt: '', services: { api: svc(tag, digest) },
  });
  const revs: Record<string, string> = { '1.0.0': 'aaaaaaaaaaaa', '2.0.0': 'bbbbbbbbbbbb' };
  const d = diffReleases(m(1, '1.0.0', 'sha256:' + '1'.repeat(64)), m(2, '2.0.0', 'sha256:' + '2'.repeat(64)), { appRevision: (_s, t) => revs[t] });
  assert.match(formatReleaseDiff(d), /source aaaaaaaaaaaa -> bbbbbbbbbbbb/);
});
