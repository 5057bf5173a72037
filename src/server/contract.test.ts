import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { apiCalls } from './contract.js';
import { checkBody, checkQuery } from './contract-validate.js';
import { generateApiSchema } from './contract-schema.js';

const refused = (fn: () => unknown): KilnError => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KilnError);
    return e;
  }
  assert.fail('accepted');
};

test('a deploy body is checked by the contract: typed value when right, a USAGE error at line:column when wrong', () => {
  const body = apiCalls.deploy.body;
  assert.deepEqual(checkBody(body, '{"env":"dev","release":"r2","dryRun":true}', 'POST /v1/deploy'), { env: 'dev', release: 'r2', dryRun: true });
  const unknown = refused(() => checkBody(body, '{"env":"dev",\n "release":"r2", "dryrun":true}', 'POST /v1/deploy'));
  assert.equal(unknown.code, 'USAGE');
  assert.match(unknown.message, /dryrun/);
  assert.deepEqual({ line: unknown.location?.line, file: unknown.location?.file }, { line: 2, file: 'the body of POST /v1/deploy' });
  assert.match(refused(() => checkBody(body, '{"env":"Dev!","release":"r2"}', 'POST /v1/deploy')).message, /env/);
  assert.match(refused(() => checkBody(body, '{"release":"r2"}', 'POST /v1/deploy')).message, /env/);
  assert.match(refused(() => checkBody(body, '{"env":"dev","release":"r2","dryRun":"yes"}', 'POST /v1/deploy')).message, /dryRun/);
  assert.match(refused(() => checkBody(body, '{"env":', 'POST /v1/deploy')).message, /not valid JSON/);
});

test('query parameters are checked too: unknown names and repeated ones are refused', () => {
  assert.deepEqual(checkQuery(apiCalls.releaseDiff.query, new URLSearchParams('from=r1&to=r2'), 'GET /v1/release-diff'), { from: 'r1', to: 'r2' });
  assert.match(refused(() => checkQuery(apiCalls.releaseDiff.query, new URLSearchParams('from=r1'), 'GET /v1/release-diff')).message, /to/);
  assert.match(refused(() => checkQuery(apiCalls.status.query, new URLSearchParams('env=dev&evn=x'), 'GET /v1/status')).message, /evn/);
  assert.match(refused(() => checkQuery(apiCalls.status.query, new URLSearchParams('env=dev&env=prod'), 'GET /v1/status')).message, /twice/);
  assert.match(refused(() => checkQuery(apiCalls.events.query, new URLSearchParams('limit=ten'), 'GET /v1/events')).message, /limit/);
});

test('the API schema has every call with its request and answer; nullable fields allow null', () => {
  const s = generateApiSchema() as { $defs: Record<string, { 'x-kiln-path': string; properties: Record<string, Record<string, unknown>> }> };
  assert.deepEqual(Object.keys(s.$defs), Object.keys(apiCalls));
  assert.equal(s.$defs.deploy?.['x-kiln-path'], '/v1/deploy');
  assert.deepEqual((s.$defs.deploy?.properties.body as { required: string[] }).required, ['env', 'release']);
  const cluster = ((s.$defs.status?.properties.response as { properties: Record<string, { items: { properties: Record<string, unknown> } }> }).properties.clusters)!.items.properties;
  assert.deepEqual((cluster.active as { anyOf: Array<{ type: string }> }).anyOf[1], { type: 'null' });
});
