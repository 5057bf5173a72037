import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generatedSpecFiles, repoRootFromHere } from './generate.js';
import { generateJsonSchema } from './jsonschema.js';
import { generateReferenceMarkdown } from './reference.js';

type J = Record<string, unknown>;
const obj = (v: unknown): J => {
  assert.equal(typeof v, 'object');
  assert.ok(v !== null && !Array.isArray(v));
  return v as J;
};
const get = (v: unknown, ...keys: string[]): J => keys.reduce((o: J, k) => obj(o[k]), obj(v));

test('the committed schema/kiln.schema.json and docs/kiln-yaml.md are what the code generates', () => {
  const root = repoRootFromHere();
  for (const [rel, content] of Object.entries(generatedSpecFiles())) {
    const committed = readFileSync(path.join(root, rel), 'utf8');
    assert.equal(committed, content, `${rel} is out of date: run "npx tsc -p tsconfig.json && node dist/src/spec/generate.js"`);
  }
});

test('the JSON Schema is draft 2020-12, closed to unknown keys, and carries types, defaults and requirements', () => {
  const s = generateJsonSchema();
  assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(s.type, 'object');
  assert.equal(s.additionalProperties, false);
  assert.deepEqual(s.required, ['project', 'services', 'environments']);
  assert.deepEqual(Object.keys(get(s, 'properties')), ['project', 'domain', 'proxy', 'dns', 'metrics', 'logs', 'os', 'data', 'services', 'environments']);
  assert.deepEqual(get(s, 'properties', 'proxy').default, { engine: 'kiln', haproxy: '/usr/sbin/haproxy', host: '127.0.0.1', port: 7080, 'tunnel-idle-timeout': '1h', 'trusted-proxies': [] });

  const service = get(s, 'properties', 'services', 'additionalProperties');
  assert.equal(get(s, 'properties', 'services').minProperties, 1);
  assert.deepEqual(service.required, ['app', 'roles']);
  assert.equal(service.additionalProperties, false);
  assert.deepEqual(get(service, 'properties', 'app').required, ['path', 'run']);

  const role = get(service, 'properties', 'roles', 'additionalProperties');
  assert.deepEqual(Object.keys(get(role, 'properties')), ['replicas', 'port', 'health', 'flags', 'args', 'settle', 'strategy']);
  assert.deepEqual(get(role, 'properties', 'replicas'), {
    type: 'integer',
    minimum: 0,
    maximum: 1000,
    description: 'Servers per group, unless the environment scales it.',
    default: 1,
  });
  // health: a path string or an object with duration strings and their defaults.
  const health = get(role, 'properties', 'health');
  const [short, long] = health.oneOf as J[];
  assert.equal(obj(short).type, 'string');
  assert.equal(get(long, 'properties', 'interval').default, '100ms');
  assert.equal(get(long, 'properties', 'timeout').default, '2s');
  assert.equal(get(long, 'properties', 'grace').default, '30s');
  assert.equal(get(long, 'properties', 'retries').default, 3);
  assert.equal(get(long, 'properties', 'interval').pattern, '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$');

  const flags = get(role, 'properties', 'flags');
  assert.deepEqual(flags.propertyNames, { pattern: '^[a-z][a-z0-9-]*$' });
  assert.deepEqual(get(flags, 'additionalProperties').type, ['string', 'number', 'boolean']);

  const env = get(s, 'properties', 'environments', 'additionalProperties');
  assert.deepEqual(get(env, 'properties', 'runtime').enum, ['process', 'podman', 'kubernetes']);
  assert.equal(get(env, 'properties', 'runtime').default, 'process');

  const osEntry = get(s, 'properties', 'os', 'additionalProperties');
  assert.deepEqual((osEntry.oneOf as J[]).map((o) => o.required), [['debian'], ['import']]);
});

test('the names in the JSON Schema accept what the loader accepts', () => {
  const s = generateJsonSchema();
  const namePattern = new RegExp(String(get(s, 'properties', 'services', 'propertyNames').pattern));
  for (const ok of ['api', 'web-2', 'a']) assert.ok(namePattern.test(ok), ok);
  for (const bad of ['Api', '-api', 'api-', 'a_b']) assert.ok(!namePattern.test(bad), bad);
});

test('the reference lists every key with its type and default', () => {
  const md = generateReferenceMarkdown();
  assert.match(md, /^# kiln\.yaml reference\n/);
  assert.ok(md.includes('| `services.<service>.roles.<role>.replicas` | integer 0–1000 | `1` |'));
  assert.ok(md.includes('| `services.<service>.roles.<role>.health.interval` | duration (`200ms`, `2s`, `1m`) | `100ms` |'));
  assert.ok(md.includes('| `services.<service>.app.run` | non-empty list of arguments | **required** |'));
  assert.ok(md.includes('| `domain` | DNS name | `<project>.test` |'));
  assert.ok(md.includes('| `environments.<environment>.runtime` | `process` or `podman` or `kubernetes` | `process` |'));
  assert.ok(md.includes('- `${cluster.<service>-<role>.url}`'));
});
