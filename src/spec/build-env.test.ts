// services.<svc>.app.build-env: names and values given to the build as strings; HOME and TMPDIR
// are Kiln's (the build's scratch directory) and refused with the key's location.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, problemsOf } from './testkit.js';

const spec = (buildEnv: string): string => `project: shop
services:
  api:
    app: { path: apps/api, build: [npm, ci], run: [node, server.js], build-env: ${buildEnv} }
    roles: { http: { port: http } }
environments:
  dev: { runtime: process }
`;

test('build-env values reach the spec as strings; none declared is {}', () => {
  assert.deepEqual(load(spec('{ NODE_ENV: production, JOBS: 2, CI: true }')).services.api?.app.buildEnv, { NODE_ENV: 'production', JOBS: '2', CI: 'true' });
  assert.deepEqual(load(spec('{}')).services.api?.app.buildEnv, {});
});

test('build-env may not set HOME or TMPDIR, nor a name that is not a variable name', () => {
  const home = problemsOf(spec('{ HOME: /root }'));
  assert.equal(home.length, 1);
  assert.match(home[0]!.message, /HOME.*set by Kiln/);
  assert.equal(home[0]!.line, 4);
  assert.match(problemsOf(spec('{ "A-B": x }'))[0]!.message, /environment variable name/);
});
