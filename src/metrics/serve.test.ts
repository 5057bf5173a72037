import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from './registry.js';
import { serveMetrics } from './serve.js';

test('GET /metrics answers the exposition with the 0.0.4 content type; other paths 404', async () => {
  const r = new Registry();
  r.counter('kiln_hits_total', 'Hits.').labels().inc(7);
  const s = await serveMetrics('127.0.0.1', 0, () => r.expose(), 'test');
  try {
    const res = await fetch(`http://127.0.0.1:${s.port}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(await res.text(), /^kiln_hits_total 7$/m);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await s.close();
  }
});

test('a port in use is a PORT_IN_USE error that names the address', async () => {
  const a = await serveMetrics('127.0.0.1', 0, () => '', 'first');
  try {
    await assert.rejects(serveMetrics('127.0.0.1', a.port, () => '', 'proxy'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'PORT_IN_USE');
      assert.match(e.message, new RegExp(`proxy metrics cannot listen on 127\\.0\\.0\\.1:${a.port}: the port is in use`));
      return true;
    });
  } finally {
    await a.close();
  }
});

test('an address off loopback is refused before anything listens, naming the kiln.yaml key that allows it', async () => {
  for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
    await assert.rejects(serveMetrics(host, 0, () => '', 'control plane'), (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'LISTENER_NOT_LOOPBACK');
      assert.match(e.message, new RegExp(`^control plane metrics would listen on ${host.replace(/\./g, '\\.')}:0, which is not a loopback address`));
      assert.match(e.hint ?? '', /metrics\.allow-public: true in kiln\.yaml/);
      return true;
    });
  }
  // The proxy names its flag: how a user started it by hand allows it.
  await assert.rejects(serveMetrics('0.0.0.0', 0, () => '', 'proxy', { allowWith: '--metrics-allow-public' }), (e: Error & { code?: string; hint?: string }) => {
    assert.equal(e.code, 'LISTENER_NOT_LOOPBACK');
    assert.match(e.hint ?? '', /or set --metrics-allow-public to serve them/);
    return true;
  });
});

test('allowed off loopback, the address is bound as asked (here one this machine does not have)', async () => {
  // 192.0.2.1 (TEST-NET-1) is no address of this machine: the bind fails, so no traffic and no
  // public port, but it shows the loopback check let it through.
  await assert.rejects(serveMetrics('192.0.2.1', 0, () => '', 'proxy', { allowPublic: true }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'PORT_IN_USE');
    assert.match(e.message, /proxy metrics cannot listen on 192\.0\.2\.1:0: 192\.0\.2\.1 is not an address of this machine/);
    return true;
  });
  const local = await serveMetrics('localhost', 0, () => '', 'proxy');
  await local.close();
});
