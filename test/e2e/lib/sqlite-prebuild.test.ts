// scripts/sqlite-prebuild.js: packs Kiln's own better-sqlite3 binary where prebuild-install looks
// for a local prebuilt one, under the name it looks for; the same bytes when run again; nothing
// (and a line saying why) when the app locks another version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findRepoRoot } from './project.js';

const script = path.join(findRepoRoot(), 'scripts', 'sqlite-prebuild.js');
const ownVersion = (JSON.parse(fs.readFileSync(path.join(findRepoRoot(), 'node_modules', 'better-sqlite3', 'package.json'), 'utf8')) as { version: string }).version;

function appLocking(version: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-prebuild-'));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/better-sqlite3': { version } } }));
  return dir;
}
const run = (dir: string) => spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });

test('the same version: a tar.gz named for this Node, holding the module; again: unchanged', (t) => {
  const dir = appLocking(ownVersion);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const first = run(dir);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /^placed /);
  const name = `better-sqlite3-v${ownVersion}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const file = path.join(dir, '.prebuilds', name);
  const bytes = fs.readFileSync(file);
  const listing = spawnSync('tar', ['-tzf', file], { encoding: 'utf8' });
  assert.deepEqual(listing.stdout.trim().split('\n'), ['build/Release/better_sqlite3.node']);
  const again = run(dir);
  assert.match(again.stdout, /is up to date/);
  assert.ok(fs.readFileSync(file).equals(bytes));
});

test('another version locked: nothing placed, and it says so', (t) => {
  const dir = appLocking('0.0.1');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = run(dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Kiln has better-sqlite3 ${ownVersion.replace(/\./g, '\\.')}, .* locks 0\\.0\\.1: no prebuilt binary placed`));
  assert.equal(fs.existsSync(path.join(dir, '.prebuilds')), false);
});
