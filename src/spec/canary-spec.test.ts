// strategy.canary in kiln.yaml: steps and gates reach the role's spec (percent and milliseconds),
// the gate defaults are the ones canary/gates.ts documents, and bad input is reported at its
// file:line:column with what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CANARY_GATE_DEFAULTS } from '../canary/gates.js';
import { load, problemsOf, yaml } from './testkit.js';

const project = (role: string, ...strategy: string[]): string =>
  yaml(
    'project: shop',
    'services:',
    '  api:',
    '    app: { path: apps/api, run: [node, server.js] }',
    '    roles:',
    `      http: ${role}`,
    ...strategy,
    'environments:',
    '  dev: {}',
  );

const at = (p: { line: number | undefined; column: number | undefined }): string => `${p.line}:${p.column}`;

test('canary steps and gates are read per role: weights in percent, durations in milliseconds, gate defaults filled in', () => {
  const spec = load(
    project(
      '{ port: http, strategy: { canary: { steps: [{ weight: 10%, for: 2m }, { weight: 50.5%, pause: manual }], gates: { min-requests: 500, prometheus: { url: "http://127.0.0.1:9090", query: "sum(x)", max: 0.5 } } } } }',
    ),
  );
  assert.deepEqual(spec.services.api?.roles.http?.canary, {
    steps: [{ weight: 10, forMs: 120_000 }, { weight: 50.5, pause: 'manual' }],
    gates: { ...CANARY_GATE_DEFAULTS, minRequests: 500, prometheus: { url: 'http://127.0.0.1:9090', query: 'sum(x)', max: 0.5 } },
  });
  const defaults = load(project('{ port: http, strategy: { canary: { steps: [{ weight: 5%, for: 1s }] } } }'));
  assert.deepEqual(defaults.services.api?.roles.http?.canary?.gates, CANARY_GATE_DEFAULTS, 'the schema defaults are the gate defaults');
  assert.equal(load(project('{ port: http }')).services.api?.roles.http?.canary, undefined);
});

test('bad canary settings are reported at file:line:column, saying what to do', () => {
  const wrong = problemsOf(
    project(
      '',
      '        port: http',
      '        strategy:',
      '          canary:',
      '            steps:',
      '              - { weight: 10, for: 2m }',
      '              - { weight: 150%, for: 2m }',
      '              - { weight: 30%, for: soon, pauze: manual }',
      '            gates: { max-p99-ratio: fast, min-requests: 0 }',
    ),
  );
  const one = (re: RegExp) => {
    const found = wrong.filter((p) => re.test(p.message));
    assert.equal(found.length, 1, `${re}: ${wrong.map((p) => `${at(p)} ${p.message}`).join('\n')}`);
    return found[0]!;
  };
  const noSign = one(/steps\[0\]\.weight must be a percentage from 0.01% to 99.99%/);
  assert.equal(at(noSign), '11:27');
  assert.match(noSign.hint ?? '', /add the percent sign: 10%/);
  assert.equal(at(one(/steps\[1\]\.weight must be a percentage/)), '12:27');
  assert.equal(at(one(/steps\[2\]\.for must be a duration/)), '13:37');
  const typo = one(/unknown key "pauze"/);
  assert.equal(at(typo), '13:43');
  assert.match(typo.hint ?? '', /did you mean "pause"/);
  assert.equal(at(one(/max-p99-ratio must be a number from 1 to 1000, got "fast"/)), '14:37');
  assert.equal(at(one(/min-requests must be an integer from 1/)), '14:57');
});

test('a canary needs a port, each step exactly one of for and pause, and rising weights', () => {
  const wrong = problemsOf(
    project(
      '',
      '        strategy:',
      '          canary:',
      '            steps:',
      '              - { weight: 50% }',
      '              - { weight: 20%, for: 1m, pause: manual }',
    ),
  );
  assert.equal(wrong.length, 4, wrong.map((p) => `${at(p)} ${p.message}`).join('\n'));
  const port = wrong.find((p) => /has no port/.test(p.message))!;
  assert.equal(at(port), '7:9');
  assert.match(port.hint ?? '', /add a port/);
  assert.equal(at(wrong.find((p) => /steps\[0\] needs exactly one of "for" and "pause"/.test(p.message))!), '10:17');
  assert.equal(at(wrong.find((p) => /steps\[1\] needs exactly one of "for" and "pause"/.test(p.message))!), '11:17');
  const falling = wrong.find((p) => /steps\[1\] has weight 20%, not above the previous step's 50%/.test(p.message))!;
  assert.equal(at(falling), '11:17');
  assert.match(falling.hint ?? '', /rising weights/);
});
