// `kiln init` without a kiln.yaml writes this starter: it must load as written (the loader's own
// validation, app path included), and take the directory's name and package.json into account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSpec } from '../spec/load.js';
import { projectNameFor, starterSpec } from './starter-spec.js';

test('the starter kiln.yaml validates, with a project name from the directory', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), '2 My_Shop.'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'kiln.yaml'), starterSpec(dir));
  const spec = loadSpec(path.join(dir, 'kiln.yaml'));
  assert.equal(spec.project, projectNameFor(dir));
  assert.match(spec.project, /^my-shop/);
  assert.deepEqual(Object.keys(spec.services), ['web']);
  assert.deepEqual(spec.services.web?.app.run, ['node', 'server.js']);
  assert.deepEqual(Object.keys(spec.environments), ['dev']);
});

test('a package.json with main and a lockfile: run main, build with npm ci', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-starter-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ main: 'src/index.js' }));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), '{}');
  fs.writeFileSync(path.join(dir, 'kiln.yaml'), starterSpec(dir));
  const spec = loadSpec(path.join(dir, 'kiln.yaml'));
  assert.deepEqual(spec.services.web?.app.run, ['node', 'src/index.js']);
  assert.deepEqual(spec.services.web?.app.build, ['npm', 'ci', '--omit=dev']);
  assert.equal(projectNameFor('/'), 'app');
});
