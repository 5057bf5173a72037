import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flagRefs, parseFlagTemplate, resolveClusterTarget } from './flagref.js';

test('flag templates split into text and references; $$ is a literal $', () => {
  assert.deepEqual(parseFlagTemplate('http://${cluster.api-http.url}/x?p=$$1&q=$2'), {
    ok: true,
    parts: [
      { text: 'http://' },
      { ref: { kind: 'cluster', target: 'api-http' }, source: '${cluster.api-http.url}' },
      { text: '/x?p=$1&q=$2' },
    ],
  });
  assert.deepEqual(parseFlagTemplate('$${port}'), { ok: true, parts: [{ text: '${port}' }] });
  assert.deepEqual(flagRefs('${port}${log.file} ${env}-${release} ${data.orders.url} ${secret.orders_url}'), [
    { kind: 'port' },
    { kind: 'log.file' },
    { kind: 'env' },
    { kind: 'release' },
    { kind: 'data', store: 'orders' },
    { kind: 'secret', name: 'orders_url' },
  ]);
  assert.deepEqual(flagRefs(42), []);
});

test('malformed references say what is wrong', () => {
  assert.deepEqual(parseFlagTemplate('a ${port'), { ok: false, error: 'unterminated reference "${port": missing "}"' });
  assert.deepEqual(parseFlagTemplate('${cluster.api.http.url}'), { ok: false, error: 'unknown reference "${cluster.api.http.url}"' });
  assert.deepEqual(parseFlagTemplate('${secret.}'), { ok: false, error: 'unknown reference "${secret.}"' });
  assert.deepEqual(parseFlagTemplate('${Port}'), { ok: false, error: 'unknown reference "${Port}"' });
});

test('a cluster target is split using the declared services, whose names may contain dashes', () => {
  const services = { 'api-v2': { roles: { http: {} } }, api: { roles: { 'v2-http': {}, http: {} } } };
  assert.deepEqual(resolveClusterTarget('api-http', services), [{ service: 'api', role: 'http' }]);
  // Ambiguous targets are what the loader rejects as colliding cluster names.
  assert.deepEqual(resolveClusterTarget('api-v2-http', services), [
    { service: 'api-v2', role: 'http' },
    { service: 'api', role: 'v2-http' },
  ]);
  assert.deepEqual(resolveClusterTarget('web-http', services), []);
});
