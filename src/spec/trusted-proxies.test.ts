// kiln.yaml's `proxy.trusted-proxies`: accepted ranges reach the proxy's route table, a bad one
// is reported at its file:line:column before anything runs, and the proxy accepts what the spec
// accepted (both use util/cidr.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, only, problemsOf, yaml } from './testkit.js';
import { buildRouteTable } from '../server/route-table.js';
import { tempRuntimeState } from '../store/testkit.js';
import { validateRouteTable } from '../proxy/validate.js';

const spec = (proxy: string) =>
  yaml(
    'project: shop',
    proxy,
    'services:',
    '  api:',
    '    app: { path: apps/api, run: [node, server.js] }',
    '    roles:',
    '      http: { port: http }',
    'environments:',
    '  dev: {}',
  );

test('proxy.trusted-proxies: the ranges go into the route table the proxy accepts', (t) => {
  const s = load(spec('proxy: { trusted-proxies: [10.0.0.0/8, "fd00::/8", 192.0.2.7] }'));
  assert.deepEqual(s.proxy.trustedProxies, ['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
  const table = buildRouteTable(tempRuntimeState(t), 'shop.test', 1, s.proxy.trustedProxies);
  assert.deepEqual(table.trustedProxies, ['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
  assert.ok(validateRouteTable(table).ok);
  // Absent: nobody is trusted, and the table says nothing about it.
  assert.equal(load(spec('proxy: {}')).proxy.trustedProxies, undefined);
  assert.equal(buildRouteTable(tempRuntimeState(t), 'shop.test', 1).trustedProxies, undefined);
});

test('proxy.trusted-proxies: a bad range is reported at its line and column, saying what is expected', () => {
  const problems = problemsOf(spec('proxy: { trusted-proxies: [10.0.0.0/8, 10.0.0.0/33, proxy.example] }'));
  assert.equal(problems.length, 2);
  const prefix = only(problems, /^proxy\.trusted-proxies\[1\] "10\.0\.0\.0\/33" must be a CIDR range whose prefix length is 0-32$/);
  assert.equal(`${prefix.line}:${prefix.column}`, '2:40');
  const name = only(problems, /^proxy\.trusted-proxies\[2\] "proxy\.example" must be an IP address or a CIDR range/);
  assert.equal(`${name.line}:${name.column}`, '2:53');
});
