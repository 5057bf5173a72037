// The one "not defined in kiln.yaml" error: the kind and name, the flag that named it, what is defined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { environmentOf, serviceOf, storeOf } from './lookup.js';
import { load } from './testkit.js';

const spec = load(`project: shop
services:
  web:
    app: { path: apps/web, run: [node, server.js] }
    roles: { http: { port: http, health: /healthz } }
environments:
  staging: { runtime: process }
  dev: { runtime: process }
`);

const refusal = (fn: () => unknown): KilnError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof KilnError) return e;
    throw e;
  }
  throw new Error('expected a KilnError');
};

test('an environment, a service or a store that is not in kiln.yaml: one wording, the flag, what is defined', () => {
  assert.equal(environmentOf(spec, 'dev').name, 'dev');
  const env = refusal(() => environmentOf(spec, 'prod'));
  assert.equal(env.code, 'ENV_NOT_FOUND');
  assert.equal(env.message, `environment "prod" is not defined in ${spec.file}`);
  assert.deepEqual(env.location, { flag: '--env' });
  assert.equal(env.hint, 'defined: dev, staging');
  assert.deepEqual(refusal(() => environmentOf(spec, 'prod', '--like')).location, { flag: '--like' });

  const svc = refusal(() => serviceOf(spec, 'api'));
  assert.equal(svc.code, 'SERVICE_NOT_FOUND');
  assert.equal(svc.message, `service "api" is not defined in ${spec.file}`);
  assert.equal(svc.hint, 'defined: web');

  const store = refusal(() => storeOf(spec, 'orders'));
  assert.equal(store.code, 'STORE_NOT_FOUND');
  assert.equal(store.message, `data store "orders" is not defined in ${spec.file}`);
  assert.equal(store.hint, 'kiln.yaml defines none: add it under "data:"');
});
