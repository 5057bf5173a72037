// kiln.yaml's `proxy.engine` and `proxy.haproxy`: the embedded proxy by default, HAProxy (at a
// path of the user's choosing) when asked, and a mistyped engine named with the allowed values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, problemsOf, yaml } from './testkit.js';

const spec = (proxy: string) =>
  yaml('project: shop', proxy, 'services:', '  api:', '    app: { path: apps/api, run: [node, server.js] }', '    roles:', '      http: { port: http }', 'environments:', '  dev: {}');

test('proxy.engine: kiln by default; haproxy with its binary', () => {
  assert.equal(load(spec('proxy: {}')).proxy.engine, 'kiln');
  const s = load(spec('proxy: { engine: haproxy, haproxy: /opt/haproxy/sbin/haproxy }'));
  assert.equal(s.proxy.engine, 'haproxy');
  assert.equal(s.proxy.haproxy, '/opt/haproxy/sbin/haproxy');
  assert.equal(load(spec('proxy: { engine: haproxy }')).proxy.haproxy, '/usr/sbin/haproxy');
});

test('proxy.engine: an unknown engine is reported at its line and column with the allowed values', () => {
  const problems = problemsOf(spec('proxy: { engine: nginx }'));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.message, /proxy\.engine.*kiln.*haproxy/);
  assert.equal(problems[0]!.line, 2);
});
