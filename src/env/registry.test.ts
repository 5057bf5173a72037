// What `kiln env create <name> --like <env>` copies from kiln.yaml's environment, and what it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { load } from '../spec/testkit.js';
import { definitionLike } from './registry.js';

const YAML = `project: shop
services:
  web:
    app: { path: apps/web, run: [node, server.js] }
    flags: { greeting: hi }
    roles:
      http: { port: http, health: /healthz }
environments:
  staging:
    runtime: process
    maintenance: { retry-after: 30s }
    scale: { web: { http: 3 } }
    flags: { web: { greeting: hello } }
`;

test('a created environment keeps the maintenance answer, scale and flags of the one it is like', () => {
  const spec = load(YAML);
  const def = definitionLike(spec, 'pr-7', 'staging');
  assert.equal(def.name, 'pr-7');
  assert.deepEqual(def.maintenance, spec.environments.staging!.maintenance);
  assert.equal(def.maintenance?.retryAfterMs, 30_000);
  assert.deepEqual(def.scale, { web: { http: 3 } });
  assert.equal(def.flags.web?.greeting, 'hello');
  // A copy, not a shared object: changing one leaves kiln.yaml's as it was.
  def.maintenance!.retryAfterMs = 1;
  assert.equal(spec.environments.staging!.maintenance?.retryAfterMs, 30_000);
});

test('a taken name and an unknown --like are refused, naming the flag', () => {
  const spec = load(YAML);
  assert.throws(() => definitionLike(spec, 'staging', 'staging'), (e: unknown) => e instanceof KilnError && e.code === 'ENV_EXISTS');
  assert.throws(
    () => definitionLike(spec, 'pr-8', 'prod'),
    (e: unknown) => e instanceof KilnError && e.code === 'ENV_NOT_FOUND' && /--like/.test(JSON.stringify(e.location)) && /staging/.test(e.hint ?? ''),
  );
});
