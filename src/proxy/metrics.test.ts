// The proxy's /metrics: known traffic through a real proxy to real backends, read back from the
// exposition, and the same in-flight numbers GET /stats reports (one set of counters).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scrape, series } from '../metrics/testkit.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProxyStats } from './routes.js';
import { admin, cluster, freePort, get, putRoutes, startBackend, startProxy, table, type TestBackend } from './testkit.js';

test('requests by status class, latency, retries, upstream errors and unrouted requests are what was sent', async (t) => {
  let release: (() => void) | null = null;
  const live = await startBackend('web-v001-1', (req, res) => {
    req.resume();
    const m = /^\/s\/(\d{3})$/.exec(req.url ?? '');
    if (m) {
      res.writeHead(Number(m[1]));
      res.end();
    } else if (req.url === '/slow') setTimeout(() => res.end('slow'), 300);
    else if (req.url === '/hold') release = () => res.end('held');
    else res.end('ok');
  });
  const deadPort = await freePort();
  const dead: TestBackend = { name: 'web-v001-2', port: deadPort, backend: { server: 'web-v001-2', host: '127.0.0.1', port: deadPort }, hits: 0, seen: [], kill: async () => {} };
  const next = await startBackend('web-v002-1');
  const p = await startProxy(undefined, { metrics: { host: '127.0.0.1', port: 0 } });
  t.after(async () => {
    await p.stop();
    await live.kill();
    await next.kill();
  });
  const metricsPort = p.handle.metricsPort!;
  // The dead server first in round robin: the first GET is refused there and retried on the live one.
  const groups = { 'web-v001': [dead, live], 'web-v002': [next] };
  assert.equal((await putRoutes(p, table(1, cluster('web', 'web-v001', groups)))).status, 200);
  for (let i = 0; i < 5; i++) assert.equal((await get(p.port, 'web.test', '/')).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await get(p.port, 'web.test', '/s/404')).status, 404);
  for (let i = 0; i < 2; i++) assert.equal((await get(p.port, 'web.test', '/s/503')).status, 503);
  assert.equal((await get(p.port, 'web.test', '/s/302')).status, 302);
  assert.equal((await get(p.port, 'web.test', '/slow')).body, 'slow');
  assert.equal((await get(p.port, 'nobody.test', '/')).status, 404);

  const m = await scrape(metricsPort);
  const g = { cluster: 'web', group: 'web-v001' };
  assert.equal(m.get(series('kiln_proxy_requests_total', { ...g, code: '2xx' })), 6);
  assert.equal(m.get(series('kiln_proxy_requests_total', { ...g, code: '3xx' })), 1);
  assert.equal(m.get(series('kiln_proxy_requests_total', { ...g, code: '4xx' })), 3);
  assert.equal(m.get(series('kiln_proxy_requests_total', { ...g, code: '5xx' })), 2);
  assert.equal(m.get(series('kiln_proxy_requests_total', { ...g, code: 'aborted' })), 0);
  assert.equal(m.get(series('kiln_proxy_request_duration_seconds_count', g)), 12);
  assert.equal(m.get(series('kiln_proxy_request_duration_seconds_bucket', { ...g, le: '+Inf' })), 12);
  // The slow request is above 0.25 s, so at most the other eleven are at or below it.
  assert.ok(m.get(series('kiln_proxy_request_duration_seconds_bucket', { ...g, le: '0.25' }))! <= 11);
  assert.ok(m.get(series('kiln_proxy_request_duration_seconds_sum', g))! >= 0.3);
  // Each refusal of a GET was retried on the live server (how many depends on the 1 s down mark).
  const refused = m.get(series('kiln_proxy_upstream_errors_total', { ...g, reason: 'refused' }))!;
  assert.ok(refused >= 1);
  assert.equal(m.get(series('kiln_proxy_retries_total', g)), refused);
  assert.equal(m.get(series('kiln_proxy_upstream_errors_total', { ...g, reason: 'timeout' })), 0);
  assert.equal(m.get(series('kiln_proxy_unrouted_requests_total', { reason: 'no_route' })), 1);
  assert.equal(m.get(series('kiln_proxy_requests_total', { cluster: 'web', group: 'web-v002', code: '2xx' })), 0);

  // A request held in flight across a switch: the old group drains, and its wait is measured.
  const held = get(p.port, 'web.test', '/hold');
  for (let i = 0; i < 200 && release === null; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal((await scrape(metricsPort)).get(series('kiln_proxy_requests_in_flight', g)), 1);
  assert.equal((await putRoutes(p, table(2, cluster('web', 'web-v002', groups)))).status, 200);
  await new Promise((r) => setTimeout(r, 120));
  const during = await scrape(metricsPort);
  assert.equal(during.get(series('kiln_proxy_draining_groups', { cluster: 'web' })), 1);
  const stats = (await admin(p.adminSocket, 'GET', '/stats')).json as ProxyStats;
  assert.deepEqual(stats.inFlight, { 'web-v001': 1, 'web-v002': 0 });
  release!();
  assert.equal((await held).body, 'held');
  assert.equal((await get(p.port, 'web.test', '/')).body, 'web-v002-1');
  const after = await scrape(metricsPort);
  assert.equal(after.get(series('kiln_proxy_requests_in_flight', g)), 0);
  assert.equal(after.get(series('kiln_proxy_draining_groups', { cluster: 'web' })), 0);
  assert.equal(after.get(series('kiln_proxy_drain_wait_seconds_count', { cluster: 'web' })), 1);
  assert.ok(after.get(series('kiln_proxy_drain_wait_seconds_sum', { cluster: 'web' }))! >= 0.1);
  assert.equal(after.get(series('kiln_proxy_requests_total', { ...g, code: '2xx' })), 7);
  assert.equal(after.get(series('kiln_proxy_requests_total', { cluster: 'web', group: 'web-v002', code: '2xx' })), 1);
});

test('a group that leaves the route table with nothing in flight leaves the exposition', async (t) => {
  const b = await startBackend('api-v001-1');
  const p = await startProxy(undefined, { metrics: { host: '127.0.0.1', port: 0 } });
  t.after(async () => {
    await p.stop();
    await b.kill();
  });
  await putRoutes(p, table(1, cluster('api', 'api-v001', { 'api-v001': [b] })));
  await get(p.port, 'api.test', '/');
  assert.equal((await scrape(p.handle.metricsPort!)).get(series('kiln_proxy_requests_total', { cluster: 'api', group: 'api-v001', code: '2xx' })), 1);
  await putRoutes(p, table(2));
  const m = await scrape(p.handle.metricsPort!);
  assert.equal(m.has(series('kiln_proxy_requests_total', { cluster: 'api', group: 'api-v001', code: '2xx' })), false);
  assert.equal(m.get(series('kiln_proxy_unrouted_requests_total', { reason: 'no_route' })), 0);
});

test('metrics off loopback without allowPublic: the proxy does not start (no admin socket)', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-proxy-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(startProxy(dir, { metrics: { host: '0.0.0.0', port: 0 } }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'LISTENER_NOT_LOOPBACK');
    assert.match(e.message, /^proxy metrics would listen on 0\.0\.0\.0:0, which is not a loopback address/);
    assert.match((e as Error & { hint?: string }).hint ?? '', /--metrics-allow-public/);
    return true;
  });
  assert.equal(existsSync(path.join(dir, 'admin.sock')), false);
});
