// Names are checked at spec load against the longest name a cluster will produce (issue 11,
// defect 14): its last server, of a build past v999 — not only `-v000-1`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, only, problemsOf, yaml } from './testkit.js';

const at = (p: { line: number | undefined; column: number | undefined }) => `${p.line}:${p.column}`;
// api-http-<env> is 56 characters: "-v001-1" fits (63), "-v001-10" and "-v1000-1" do not.
const ENV = 'staging-' + 'x'.repeat(39);

const spec = (replicas: number, scale?: number) =>
  yaml(
    'project: shop',
    'services:',
    '  api:',
    '    app: { path: apps/api, run: [node, server.js] }',
    '    roles:',
    `      http: { replicas: ${replicas}, port: http }`,
    'environments:',
    `  ${ENV}:`,
    ...(scale !== undefined ? [`    scale: { api: { http: ${scale} } }`] : ['    runtime: process']),
  );

test('defect 14: a 10-replica role near the 63-character limit is refused at spec load, at file:line:column', () => {
  const p = only(problemsOf(spec(10)), /cannot name the cluster of service "api", role "http"/);
  assert.equal(at(p), '8:3');
  assert.match(p.message, new RegExp(`name "api-http-${ENV}-v1000-10" is 65 characters, 2 over the 63-character DNS label limit`));
  assert.match(p.message, /suffix of build 1000, server 10 "-v1000-10" \(9\)/);
  assert.equal(p.hint, `shorten the environment name "${ENV}"`);
});

test('defect 14: build numbers past v999 are accounted for: one replica of a 56-character cluster is refused', () => {
  const p = only(problemsOf(spec(1)), /cannot name the cluster/);
  assert.match(p.message, new RegExp(`"api-http-${ENV}-v1000-1" is 64 characters`));
});

test('defect 14: the environment\'s scale is the replicas that count', () => {
  const p = only(problemsOf(spec(1, 100)), /cannot name the cluster/);
  assert.match(p.message, /-v1000-100" is 66 characters/);
});

test('a name with room for build 1000 and its last server loads', () => {
  const shorter = ENV.slice(0, -3); // 53 + "-v1000-10" = 62
  const s = load(spec(10).replace(ENV, shorter));
  assert.deepEqual(Object.keys(s.environments), [shorter]);
});
