// The cluster's fallback group: a kept group that takes a request only when no server of the
// active group accepted it (all refused, or reset before the request could have been processed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { ClusterRoute, ProxyStats } from './routes.js';
import { admin, cluster, freePort, get, putRoutes, startBackend, startProxy, table, type TestBackend } from './testkit.js';
import { handshake, readBytes, startEchoBackend } from './upgrade-testkit.js';

/** A backend entry for a port nothing listens on: a server that died. */
async function deadBackend(name: string): Promise<TestBackend> {
  const port = await freePort();
  return { name, port, backend: { server: name, host: '127.0.0.1', port }, hits: 0, seen: [], kill: async () => {} };
}

function withFallback(c: ClusterRoute, fallback: string): ClusterRoute {
  return { ...c, fallback };
}

test('every server of the active group refuses: GETs are served by the kept group, not a 502', async (t) => {
  const [d1, d2] = await Promise.all([deadBackend('web-v002-1'), deadBackend('web-v002-2')]);
  const kept = await startBackend('web-v001-1');
  const p = await startProxy();
  const agent = new http.Agent({ keepAlive: true });
  t.after(async () => {
    agent.destroy();
    await p.stop();
    await kept.kill();
  });
  const port = await freePort();
  const groups = { 'web-v001': [kept], 'web-v002': [d1, d2] };
  // Without a fallback the client sees the failure (what a crash loop did before its rollback).
  assert.equal((await putRoutes(p, table(1, cluster('web', 'web-v002', groups, port)))).status, 200);
  assert.equal((await get(p.port, 'web.test')).status, 502);
  assert.equal((await putRoutes(p, table(2, withFallback(cluster('web', 'web-v002', groups, port), 'web-v001')))).status, 200);
  for (let i = 0; i < 20; i++) {
    const viaHost = await get(p.port, 'web.test', '/', { agent: i % 2 === 0 ? agent : false });
    assert.equal(viaHost.status, 200, viaHost.body);
    assert.equal(viaHost.body, 'web-v001-1');
    const viaPort = await get(port, 'anything', '/', { method: i % 2 === 0 ? 'GET' : 'HEAD' });
    assert.equal(viaPort.status, 200);
  }
  // A group's own name never falls back: it names that build.
  assert.equal((await get(p.port, 'web-v002.test')).status, 502);
  // The active group with no server left in the table at all: the kept group, not a 503.
  assert.equal((await putRoutes(p, table(3, withFallback(cluster('web', 'web-v002', { ...groups, 'web-v002': [] }), 'web-v001')))).status, 200);
  const r = await get(p.port, 'web.test');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'web-v001-1');
});

test('an active group with one server that accepts never sends a request to the fallback', async (t) => {
  const [live, kept] = await Promise.all([startBackend('web-v002-1'), startBackend('web-v001-1')]);
  const dead = await deadBackend('web-v002-2');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await Promise.all([live.kill(), kept.kill()]);
  });
  const c = withFallback(cluster('web', 'web-v002', { 'web-v001': [kept], 'web-v002': [dead, live] }), 'web-v001');
  await putRoutes(p, table(1, c));
  for (let i = 0; i < 30; i++) {
    const r = await get(p.port, 'web.test');
    assert.equal(r.body, 'web-v002-1');
  }
  assert.equal(kept.hits, 0, 'a deploy switch stays a switch: the kept group takes nothing');
});

test('a request the active group may have processed is not replayed on the fallback', async (t) => {
  // The server takes the request, then its connection is reset without an answer.
  const dropper = await startBackend('web-v002-1', (req) => req.socket.destroy());
  const kept = await startBackend('web-v001-1');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await Promise.all([dropper.kill(), kept.kill()]);
  });
  await putRoutes(p, table(1, withFallback(cluster('web', 'web-v002', { 'web-v001': [kept], 'web-v002': [dropper] }), 'web-v001')));
  for (const opts of [{ method: 'POST', body: 'order=1' }, { method: 'DELETE' }, { method: 'PATCH' }]) {
    const r = await get(p.port, 'web.test', '/', opts);
    assert.equal(r.status, 502, `${opts.method}: ${r.body}`);
  }
  assert.equal(kept.hits, 0);
  // A GET reset the same way is safe to send again, and goes to the kept group.
  const r = await get(p.port, 'web.test');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'web-v001-1');
});

test('a request served by the fallback is in flight on the kept group (its drain waits for it)', async (t) => {
  const dead = await deadBackend('web-v002-1');
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const kept = await startBackend('web-v001-1', (req, res) => void held.then(() => res.end('web-v001-1')));
  const p = await startProxy();
  t.after(async () => {
    release();
    await p.stop();
    await kept.kill();
  });
  await putRoutes(p, table(1, withFallback(cluster('web', 'web-v002', { 'web-v001': [kept], 'web-v002': [dead] }), 'web-v001')));
  const pending = get(p.port, 'web.test');
  for (let i = 0; i < 200 && kept.hits === 0; i++) await new Promise((r) => setTimeout(r, 10));
  const during = (await admin(p.adminSocket, 'GET', '/stats')).json as ProxyStats;
  assert.deepEqual(during.inFlight, { 'web-v001': 1, 'web-v002': 0 });
  release();
  assert.equal((await pending).status, 200);
  const after = (await admin(p.adminSocket, 'GET', '/stats')).json as ProxyStats;
  assert.deepEqual(after.inFlight, { 'web-v001': 0, 'web-v002': 0 });
  assert.equal(after.failed, 0);
});

test('a fallback that names no group of the cluster, or the active one, is refused whole', async (t) => {
  const b = await startBackend('web-v001-1');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await b.kill();
  });
  const c = cluster('web', 'web-v001', { 'web-v001': [b] });
  for (const [fallback, why] of [['web-v009', /must name one of this cluster's groups/], ['web-v001', /names the active group/]] as const) {
    const r = await putRoutes(p, table(1, withFallback(c, fallback)));
    assert.equal(r.status, 400);
    assert.match((r.json as { message: string }).message, why);
  }
  assert.equal(((await admin(p.adminSocket, 'GET', '/routes')).json as { version: number }).version, 0, 'the running table is kept');
});

test('an upgrade request goes to the kept group when the active group has no server in the table', async (t) => {
  const kept = await startEchoBackend('web-v001-1');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await kept.kill();
  });
  const keptAsTest = kept as unknown as TestBackend;
  await putRoutes(p, table(1, withFallback(cluster('web', 'web-v002', { 'web-v001': [keptAsTest], 'web-v002': [] }), 'web-v001')));
  const h = await handshake(p.port, 'web.test');
  t.after(() => h.socket.destroy());
  assert.equal(h.status, 101);
  assert.match((await readBytes(h.socket, 1, h.rest)).toString(), /^web-v001-1/);
  assert.deepEqual(((await admin(p.adminSocket, 'GET', '/stats')).json as ProxyStats).fallbacks, { web: 1 });
});

test("GET /stats counts, per cluster, the requests its kept group served, and only those", async (t) => {
  const dead = await deadBackend('web-v002-1');
  const [kept, apiLive, apiKept] = await Promise.all([startBackend('web-v001-1'), startBackend('api-v002-1'), startBackend('api-v001-1')]);
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await Promise.all([kept.kill(), apiLive.kill(), apiKept.kill()]);
  });
  const port = await freePort();
  await putRoutes(
    p,
    table(
      1,
      withFallback(cluster('web', 'web-v002', { 'web-v001': [kept], 'web-v002': [dead] }, port), 'web-v001'),
      withFallback(cluster('api', 'api-v002', { 'api-v001': [apiKept], 'api-v002': [apiLive] }), 'api-v001'),
    ),
  );
  const fallbacks = async (): Promise<Record<string, number>> => ((await admin(p.adminSocket, 'GET', '/stats')).json as ProxyStats).fallbacks;
  assert.deepEqual(await fallbacks(), {}, 'nothing fell back yet');
  for (let i = 0; i < 4; i++) assert.equal((await get(p.port, 'web.test')).body, 'web-v001-1');
  assert.equal((await get(port, 'anything')).status, 200, 'the cluster port falls back too');
  // Not fallbacks: the active group answered (api), a group's own name (502), a body the dead
  // group refused, which is never replayed (502).
  for (let i = 0; i < 3; i++) assert.equal((await get(p.port, 'api.test')).body, 'api-v002-1');
  assert.equal((await get(p.port, 'web-v002.test')).status, 502);
  assert.equal((await get(p.port, 'web.test', '/', { method: 'POST', body: 'order=1' })).status, 502);
  assert.deepEqual(await fallbacks(), { web: 5 });
});
