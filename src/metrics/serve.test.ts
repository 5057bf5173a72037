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
