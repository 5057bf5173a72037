import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLoad, waitFor } from './load.js';

/** A server answering with X-App-Version = `state.version`, recording what it saw. */
async function versionServer(state: { version: string; fail?: (n: number) => 'ok' | '503' | 'reset' }) {
  const seen = { requests: 0, connections: 0, hosts: new Set<string>() };
  const server = http.createServer((req, res) => {
    const n = ++seen.requests;
    seen.hosts.add(req.headers.host ?? '');
    const outcome = state.fail ? state.fail(n) : 'ok';
    if (outcome === 'reset') return void req.socket.destroy();
    res.setHeader('X-App-Version', state.version);
    if (outcome === '503') return void res.writeHead(503).end('unavailable for the test');
    res.end('ok');
  });
  server.on('connection', () => seen.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return { url, seen, close };
}

test('a single switch is one transition, over keep-alive and new connections', async () => {
  const state = { version: '1.0.0' };
  const srv = await versionServer(state);
  try {
    const load = startLoad({ url: srv.url, host: 'web-http-dev.shop.test', mix: 'both', concurrency: 6 });
    await waitFor(() => load.stats().total >= 300, { what: '300 v1 requests' });
    state.version = '2.0.0';
    await waitFor(() => (load.stats().byVersion['2.0.0'] ?? 0) >= 300, { what: '300 v2 requests' });
    const report = await load.stop();

    assert.equal(report.failed, 0, report.errors.join('\n'));
    assert.deepEqual(report.errors, []);
    assert.ok(report.total >= 600);
    assert.equal(report.total, report.ok);
    assert.equal(report.records.length, report.total);
    assert.equal(report.versions.length, report.ok);
    assert.equal(report.versions[0], '1.0.0');
    assert.equal(report.versions.at(-1), '2.0.0');
    assert.equal(report.byVersion['1.0.0']! + report.byVersion['2.0.0']!, report.ok);
    assert.deepEqual(report.segments(), ['1.0.0', '2.0.0']);
    assert.equal(report.transitions(), 1);
    // Both styles ran: keep-alive workers reuse connections, the others open one per request.
    assert.ok(report.records.some((r) => r.keepAlive) && report.records.some((r) => !r.keepAlive));
    const fresh = report.records.filter((r) => !r.keepAlive).length;
    assert.ok(srv.seen.connections >= fresh && srv.seen.connections < report.total);
    assert.deepEqual([...srv.seen.hosts], ['web-http-dev.shop.test']);
    // stop() waited for every request in flight.
    assert.equal(srv.seen.requests, report.total);
  } finally {
    await srv.close();
  }
});

test('a flip back to the old version is detected', async () => {
  const state = { version: 'v1' };
  const srv = await versionServer(state);
  try {
    const load = startLoad({ url: srv.url, mix: 'both', concurrency: 4 });
    await waitFor(() => load.stats().total >= 200, { what: 'v1 traffic' });
    state.version = 'v2';
    await waitFor(() => (load.stats().byVersion['v2'] ?? 0) >= 200, { what: 'v2 traffic' });
    state.version = 'v1';
    const before = load.stats().byVersion['v1'] ?? 0;
    await waitFor(() => (load.stats().byVersion['v1'] ?? 0) >= before + 200, { what: 'v1 again' });
    const report = await load.stop();

    assert.equal(report.failed, 0);
    assert.deepEqual(report.segments(), ['v1', 'v2', 'v1']);
    assert.equal(report.transitions(), 2);
  } finally {
    await srv.close();
  }
});

test('failed requests are counted and described', async () => {
  const state = {
    version: '1.0.0',
    fail: (n: number) => (n % 5 === 0 ? '503' as const : n % 7 === 0 ? 'reset' as const : 'ok' as const),
  };
  const srv = await versionServer(state);
  try {
    const load = startLoad({ url: srv.url, mix: 'keepalive', concurrency: 2 });
    await waitFor(() => load.stats().total >= 100, { what: '100 requests' });
    const report = await load.stop();

    assert.ok(report.failed > 0);
    assert.equal(report.total, report.ok + report.failed);
    assert.equal(report.versions.length, report.ok);
    assert.ok(report.errors.length > 0 && report.errors.length <= 10);
    assert.ok(report.errors.some((e) => e.startsWith('503: unavailable for the test')), report.errors.join('\n'));
    assert.ok(report.errors.some((e) => e.startsWith('ECONNRESET')), report.errors.join('\n'));
    assert.deepEqual(report.segments(), ['1.0.0']);
    assert.equal(report.transitions(), 0);
  } finally {
    await srv.close();
  }
});

test('waitFor returns the value, and times out saying what it waited for', async () => {
  let n = 0;
  assert.equal(await waitFor(() => (++n >= 3 ? n : 0), { intervalMs: 1 }), 3);
  await assert.rejects(
    waitFor(() => { throw new Error('not yet'); }, { timeoutMs: 30, intervalMs: 5, what: 'the moon' }),
    /timed out after 30 ms waiting for the moon; last error: not yet/,
  );
});

test('versionFromBody: the version is the trimmed body, for servers that send no X-App-Version', async () => {
  let body = '1.0.0\n';
  const server = http.createServer((_req, res) => res.end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const load = startLoad({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/version.txt`, versionFromBody: true, concurrency: 2 });
    await waitFor(() => load.stats().total >= 50, { what: '50 v1 requests' });
    body = '2.0.0\n';
    await waitFor(() => (load.stats().byVersion['2.0.0'] ?? 0) >= 50, { what: '50 v2 requests' });
    const report = await load.stop();
    assert.equal(report.failed, 0, report.errors.join('\n'));
    assert.deepEqual(report.segments(), ['1.0.0', '2.0.0']);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
