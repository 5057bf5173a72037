import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, cluster, freePort, get, putRoutes, startBackend, startProxy, table } from './testkit.js';

test('a cluster host reaches the active group, round robin over its backends; a group host previews its group', async (t) => {
  const [a1, a2, b1] = await Promise.all([startBackend('web-v001-1'), startBackend('web-v001-2'), startBackend('web-v002-1')]);
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await Promise.all([a1, a2, b1].map((b) => b.kill()));
  });
  const r = await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [a1, a2], 'web-v002': [b1] })));
  assert.equal(r.status, 200);

  const bodies: string[] = [];
  for (let i = 0; i < 4; i++) bodies.push((await get(p.port, 'web.test')).body);
  assert.deepEqual(bodies.sort(), ['web-v001-1', 'web-v001-1', 'web-v001-2', 'web-v001-2']);

  // Preview the new build before it takes traffic.
  const preview = await get(p.port, 'web-v002.test');
  assert.equal(preview.status, 200);
  assert.equal(preview.body, 'web-v002-1');

  // Host matching ignores case, the port and a trailing dot.
  assert.equal((await get(p.port, 'WEB.Test.:8080')).status, 200);
  assert.equal((await get(p.port, 'web-v002.test:80')).body, 'web-v002-1');
});

test('a cluster with a port gets its own listener that ignores Host; it closes when the port leaves the table', async (t) => {
  const [a, b] = await Promise.all([startBackend('api-v001-1'), startBackend('api-v002-1')]);
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await Promise.all([a.kill(), b.kill()]);
  });
  const port = await freePort();
  assert.equal((await putRoutes(p, table(1, cluster('api', 'api-v001', { 'api-v001': [a], 'api-v002': [b] }, port)))).status, 200);
  const r = await get(port, 'anything.example');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'api-v001-1');

  // The port follows the active group.
  await putRoutes(p, table(2, cluster('api', 'api-v002', { 'api-v001': [a], 'api-v002': [b] }, port)));
  assert.equal((await get(port, 'anything.example')).body, 'api-v002-1');

  await putRoutes(p, table(3, cluster('api', 'api-v002', { 'api-v001': [a], 'api-v002': [b] })));
  await assert.rejects(get(port, 'api.test'), /ECONNREFUSED/);
});

test('unknown host is 404 naming the host; no active group or no servers is 503', async (t) => {
  const a = await startBackend('web-v001-1');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await a.kill();
  });
  const unknown = await get(p.port, 'nobody.test');
  assert.equal(unknown.status, 404);
  assert.match(unknown.body, /nobody\.test/);

  await putRoutes(
    p,
    table(1, cluster('idle', null, { 'idle-v001': [a] }), cluster('empty', 'empty-v001', { 'empty-v001': [] })),
  );
  const idle = await get(p.port, 'idle.test');
  assert.equal(idle.status, 503);
  assert.match(idle.body, /idle/);
  assert.equal((await get(p.port, 'empty.test')).status, 503);
  assert.equal((await get(p.port, 'empty-v001.test')).status, 503);
  // The idle cluster's group is still reachable by its own name.
  assert.equal((await get(p.port, 'idle-v001.test')).status, 200);
});

test('the admin API is not reachable through the public listener', async (t) => {
  const a = await startBackend('web-v001-1');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await a.kill();
  });
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [a] })));
  for (const path of ['/routes', '/stats', '/healthz']) {
    // With an unknown Host (e.g. the proxy's own address) it is a plain 404, not the admin API.
    const direct = await get(p.port, `127.0.0.1:${p.port}`, path);
    assert.equal(direct.status, 404);
    assert.doesNotMatch(direct.body, /clusters|inFlight|version/);
    // With a routed Host it goes to the backend.
    assert.equal((await get(p.port, 'web.test', path)).body, 'web-v001-1');
  }
  const put = await get(p.port, `127.0.0.1:${p.port}`, '/routes', { method: 'PUT', body: JSON.stringify(table(9)) });
  assert.equal(put.status, 404);
  const routes = await admin(p.adminSocket, 'GET', '/routes');
  assert.equal((routes.json as { version: number }).version, 1);
});

test('forwarded requests carry X-Forwarded-* and lose hop-by-hop headers both ways', async (t) => {
  const a = await startBackend('web-v001-1', (req, res) => {
    res.writeHead(200, { Connection: 'keep-alive, X-Hop-Back', 'X-Hop-Back': '1', 'X-Kept': 'yes', 'Set-Cookie': ['a=1', 'b=2'] });
    res.end(JSON.stringify(req.headers));
  });
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await a.kill();
  });
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [a] })));
  const r = await get(p.port, 'web.test', '/x?y=1', {
    headers: { Connection: 'keep-alive, X-Hop', 'X-Hop': 'secret', 'X-Forwarded-For': '10.0.0.1', 'X-App': 'kept' },
  });
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as Record<string, string>;
  assert.equal(seen['host'], 'web.test');
  // The client is no trusted proxy: its X-Forwarded-For is replaced (trusted-proxies.test.ts).
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen['x-forwarded-host'], 'web.test');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-app'], 'kept');
  assert.equal(seen['x-hop'], undefined);
  assert.equal(r.headers['x-hop-back'], undefined);
  assert.equal(r.headers['x-kept'], 'yes');
  assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
});

test('a request body is streamed to the backend and the response back', async (t) => {
  const a = await startBackend('web-v001-1', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(`${req.method} ${Buffer.concat(chunks).length}`));
  });
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await a.kill();
  });
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [a] })));
  const r = await get(p.port, 'web.test', '/upload', { method: 'POST', body: 'x'.repeat(200_000) });
  assert.equal(r.body, 'POST 200000');
});
