// kiln.yaml's `metrics`: defaults on loopback, a non-loopback host refused at its line and column
// unless allow-public says so, ports that clash with another listener refused, and no metrics
// listener at all when the key is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, only, problemsOf, yaml } from './testkit.js';
import { isLoopbackHost } from './listeners.js';

const spec = (...top: string[]) =>
  yaml(
    'project: shop',
    ...top,
    'services:',
    '  api:',
    '    app: { path: apps/api, run: [node, server.js] }',
    '    roles:',
    '      http: { port: http }',
    'environments:',
    '  dev: {}',
  );

test('metrics: absent means no listener; present takes the loopback defaults', () => {
  assert.equal(load(spec()).metrics, undefined);
  assert.deepEqual(load(spec('metrics: {}')).metrics, { host: '127.0.0.1', port: 9464, proxyPort: 9465, allowPublic: false });
  assert.deepEqual(load(spec('metrics: { host: 127.0.0.2, port: 19000, proxy-port: 19001 }')).metrics, { host: '127.0.0.2', port: 19000, proxyPort: 19001, allowPublic: false });
  assert.deepEqual(load(spec('metrics: { host: 192.0.2.10, allow-public: true }')).metrics, { host: '192.0.2.10', port: 9464, proxyPort: 9465, allowPublic: true });
});

test('metrics.host off loopback is refused at its file:line:column unless allow-public is true', () => {
  const problems = problemsOf(spec('domain: shop.test', 'metrics: { host: 0.0.0.0, port: 9500 }'));
  assert.equal(problems.length, 1);
  const p = only(problems, /^metrics\.host 0\.0\.0\.0 is not a loopback address/);
  assert.equal(`${p.line}:${p.column}`, '3:18');
  assert.match(p.hint ?? '', /allow-public: true/);
  const quoted = problemsOf(spec('metrics: { host: 10.0.0.1, allow-public: "yes" }'));
  const b = only(quoted, /^metrics\.allow-public must be true or false, got "yes"$/);
  assert.equal(`${b.line}:${b.column}`, '2:42');
  // The wrong boolean is left out, so the host is refused too: both are reported in one round.
  only(quoted, /^metrics\.host 10\.0\.0\.1 is not a loopback address/);
});

test('metrics ports may not be another listener\'s port on the same host', () => {
  const problems = problemsOf(spec('proxy: { port: 9000 }', 'metrics: { port: 9000, proxy-port: 9000 }'));
  assert.equal(problems.length, 2);
  const a = only(problems, /^metrics\.port 9000 is already proxy\.port/);
  assert.equal(`${a.line}:${a.column}`, '3:18');
  only(problems, /^metrics\.proxy-port 9000 is already proxy\.port/);
  // Another host, the same number: no clash.
  assert.equal(load(spec('proxy: { port: 9000 }', 'metrics: { host: 127.0.0.5, port: 9000 }')).metrics?.port, 9000);
  only(problemsOf(spec('metrics: { port: 0 }')), /^metrics\.port must be an integer from 1 to 65535, got 0$/);
});

test('loopback: 127.0.0.0/8, ::1 and localhost; nothing else', () => {
  for (const h of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'metrics.internal', '::ffff:10.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
});
