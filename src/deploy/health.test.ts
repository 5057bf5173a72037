// A failed health check says what the server last answered (issue 13, item 6): a server that
// answered 503 to every check is reported as answering 503, not as "no answer within 1 ms"
// because the deadline cut the very last check short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthHistory, waitHealthy } from './health.js';

test('a server answering 503 until the grace period ends: the failure names the 503 and how many checks', async (t) => {
  let answered = 0;
  const server = http.createServer((_req, res) => {
    answered++;
    res.writeHead(503).end('starting');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const port = (server.address() as AddressInfo).port;
  const r = await waitHealthy({ port, health: { path: '/healthz', intervalMs: 20, timeoutMs: 1000, retries: 3, graceMs: 300 }, isAlive: async () => true });
  assert.equal(r.ok, false);
  assert.equal(r.status, 503);
  assert.ok(answered >= 2, `checked more than once (${answered})`);
  assert.match(r.detail, /^not healthy within 300 ms \(\d+ checks, last answer: GET \/healthz -> 503/);
});

test('the summary keeps the last answer when a later check got none', () => {
  const h = new HealthHistory();
  assert.equal(h.summary(), 'not checked yet');
  h.add({ ok: false, detail: 'GET /healthz: ECONNREFUSED' });
  assert.equal(h.summary(), '1 check, no answer; last: GET /healthz: ECONNREFUSED');
  for (let i = 0; i < 100; i++) h.add({ ok: false, detail: 'GET /healthz -> 503', status: 503 });
  h.add({ ok: false, detail: 'GET /healthz: no answer within 1 ms' });
  assert.equal(h.summary(), '102 checks, last answer: GET /healthz -> 503; last check: GET /healthz: no answer within 1 ms');
});
