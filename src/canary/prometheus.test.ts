// The Prometheus gate's reading of answers, against a real Prometheus in
// test/e2e/canary-prometheus.test.ts (one number, a scalar, no series, several, NaN, a query
// error, a route prefix). What stays here is what a real Prometheus never sends but something in
// front of it can: a 200 whose body is not JSON (a login page of a reverse proxy), a JSON answer
// that is not the query API's shape, a value that is not a string. Served by a small HTTP server
// on loopback that plays that proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { numberOf, promQuery } from './prometheus.js';

test('answers not in the query API\'s shape are no number', () => {
  assert.equal(numberOf('nope'), null);
  assert.equal(numberOf(null), null);
  assert.equal(numberOf({ status: 'success' }), null);
  assert.equal(numberOf({ status: 'success', data: { resultType: 'vector', result: [{ value: [1, 7] }] } }), null, 'a number, not a string');
  assert.equal(numberOf({ status: 'success', data: { resultType: 'matrix', result: [{ values: [[1, '1']] }] } }), null);
});

test('a 200 page that is not JSON, from a proxy in front of Prometheus, is no number (not an exception)', async (t) => {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>Please sign in</body></html>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  assert.equal(await promQuery(url, 'vector(1)'), null);
});
