// services.<svc>.app.build-in: where the build command runs. `host` reaches the spec; the
// default (`os`) leaves the field out; anything else is refused at its line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, problemsOf } from './testkit.js';

const spec = (buildIn: string | null): string => `project: shop
os:
  bookworm: { debian: { suite: bookworm, include: [nodejs] } }
services:
  api:
    os: bookworm
    app: { path: apps/api, build: [npm, ci], run: [node, server.js]${buildIn === null ? '' : `, build-in: ${buildIn}`} }
    roles: { http: { port: http } }
environments:
  dev: { runtime: process }
  staging: { runtime: podman }
`;

test('build-in: host reaches the spec; os or nothing means the OS image (no field)', () => {
  assert.equal(load(spec('host')).services.api?.app.buildIn, 'host');
  assert.equal(load(spec('os')).services.api?.app.buildIn, undefined);
  assert.equal(load(spec(null)).services.api?.app.buildIn, undefined);
});

test('build-in takes only os or host, and says where the mistake is', () => {
  const problems = problemsOf(spec('container'));
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.line, 7);
  assert.match(problems[0]!.message, /build-in/);
  assert.match(`${problems[0]!.message} ${problems[0]!.hint ?? ''}`, /host/);
});
