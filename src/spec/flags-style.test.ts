// Issue 13, item 7: kiln.yaml chooses how a service's flags are written and which positional
// arguments it gets; mistakes are reported at their file:line:column with what is allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, only, problemsOf, yaml } from './testkit.js';

const at = (p: { line: number | undefined; column: number | undefined }) => `${p.line}:${p.column}`;

test('flags-style, args (service, role, environment) and boolean flags load as written; the style defaults to equals', () => {
  const spec = load(
    yaml(
      'project: shop',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: [node, bin/server] }',
      '    flags-style: single-dash',
      '    args: [public, "${env}"]',
      '    roles: { http: { port: http, args: [www], flags: { port: false, p: "${port}" } }, worker: {} }',
      '    flags: { s: true, log-file: false }',
      '  web:',
      '    app: { path: apps/web, run: [x] }',
      '    roles: { http: { port: http } }',
      'environments:',
      '  dev: { args: { api: ["${release}"] } }',
    ),
  );
  const api = spec.services.api!;
  assert.equal(api.flagsStyle, 'single-dash');
  assert.deepEqual(api.args, ['public', '${env}']);
  assert.deepEqual(api.roles.http?.args, ['www']);
  assert.equal(api.roles.worker?.args, undefined, 'absent: the service\'s');
  assert.deepEqual(api.flags, { s: true, 'log-file': false });
  assert.deepEqual(api.roles.http?.flags, { port: false, p: '${port}' });
  assert.equal(spec.services.web?.flagsStyle, 'equals');
  assert.deepEqual(spec.services.web?.args, []);
  assert.deepEqual(spec.environments.dev?.args, { api: ['${release}'] });
});

test('an unknown flags-style is reported at its value, with the allowed styles', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: [x] }',
      '    flags-style: posix',
      '    roles: { http: { port: http } }',
      'environments:',
      '  dev: {}',
    ),
  );
  assert.equal(problems.length, 1);
  const p = problems[0]!;
  assert.equal(at(p), '5:18');
  assert.match(p.message, /flags-style/);
  assert.match(`${p.message} ${p.hint}`, /equals.*space.*single-dash/);
});

test('references in args are checked like flag values, at the list item; environment args name a service', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: [x] }',
      '    roles:',
      '      worker: { args: [ok, "${port}"] }',
      '    args: ["${data.nope.url}"]',
      'environments:',
      '  dev: { args: { apx: [a] } }',
    ),
  );
  assert.equal(problems.length, 3, problems.map((p) => p.message).join('\n'));
  const port = only(problems, /^services\.api\.roles\.worker\.args\.1: \$\{port\} is used by role worker/);
  assert.equal(at(port), '6:28');
  const data = only(problems, /^services\.api\.args\.0: \$\{data\.nope\.url\} names data store "nope"/);
  assert.equal(at(data), '7:12');
  const svc = only(problems, /environments\.dev\.args names service "apx", which is not defined/);
  assert.equal(at(svc), '9:18');
  assert.match(svc.hint ?? '', /api/);
});

test('a list item that is not a string is reported at the item', () => {
  const problems = problemsOf(
    yaml(
      'project: shop',
      'services:',
      '  api:',
      '    app: { path: apps/api, run: [x] }',
      '    roles: { http: { port: http } }',
      '    args: [ok, { a: 1 }]',
      'environments:',
      '  dev: {}',
    ),
  );
  assert.equal(problems.length, 1);
  assert.equal(at(problems[0]!), '6:16');
});
