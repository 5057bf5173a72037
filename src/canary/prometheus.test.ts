// The Prometheus gate reads exactly one number from an instant query's answer; anything else is
// "no number", which fails the gate (never a pass for a query that could not be answered). The
// query goes to a real HTTP server on loopback speaking the query API's answer format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { numberOf, promQuery } from './prometheus.js';

test('one sample of a vector, or a scalar, is the number; no series, several, NaN or an error are none', () => {
  assert.equal(numberOf({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '0.25'] }] } }), 0.25);
  assert.equal(numberOf({ status: 'success', data: { resultType: 'scalar', result: [1, '3'] } }), 3);
  assert.equal(numberOf({ status: 'success', data: { resultType: 'vector', result: [] } }), null);
  assert.equal(numberOf({ status: 'success', data: { resultType: 'vector', result: [{ value: [1, '1'] }, { value: [1, '2'] }] } }), null);
  assert.equal(numberOf({ status: 'success', data: { resultType: 'vector', result: [{ value: [1, 'NaN'] }] } }), null);
  assert.equal(numberOf({ status: 'error', error: 'parse error' }), null);
  assert.equal(numberOf('nope'), null);
});

test('the query is sent to <url>/api/v1/query with the PromQL as it is', async (t) => {
  let seen = '';
  const server = http.createServer((req, res) => {
    seen = req.url ?? '';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '7'] }] } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prom`;
  assert.equal(await promQuery(url, 'sum(rate(x{group="a-v002"}[1m]))'), 7);
  const u = new URL(seen, 'http://x');
  assert.equal(u.pathname, '/prom/api/v1/query');
  assert.equal(u.searchParams.get('query'), 'sum(rate(x{group="a-v002"}[1m]))');
});
