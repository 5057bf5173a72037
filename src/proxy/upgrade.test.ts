import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ProxyStats } from './routes.js';
import { admin, cluster, freePort, get, putRoutes, startProxy, table, type TestBackend, type TestProxy } from './testkit.js';
import { closed, handshake, readBytes, startEchoBackend, type EchoBackend } from './upgrade-testkit.js';

// The testkit's cluster() takes backends by their `backend` field only.
const asBackends = (bs: EchoBackend[]) => bs as unknown as TestBackend[];

async function stats(p: TestProxy): Promise<ProxyStats> {
  return (await admin(p.adminSocket, 'GET', '/stats')).json as ProxyStats;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sends `payload` through an open tunnel and expects it back (after the backend's greeting). */
async function echo(socket: net.Socket, payload: Buffer): Promise<void> {
  const back = readBytes(socket, payload.length);
  socket.write(payload);
  assert.ok((await back).equals(payload), 'echoed bytes differ');
}

/** A handshake that must succeed; returns the socket with the backend's greeting consumed. */
async function open(port: number, host: string, expectBackendPrefix: string): Promise<net.Socket> {
  const h = await handshake(port, host);
  assert.equal(h.status, 101);
  const greeting = (await readBytes(h.socket, 1, h.rest)).toString();
  const line = greeting.split('\n')[0]!;
  assert.ok(line.startsWith(expectBackendPrefix), `greeting ${JSON.stringify(line)}`);
  // Anything after the greeting line would be echo bytes; none were sent yet.
  return h.socket;
}

test('a WebSocket upgrade through the Host listener and a cluster port echoes 1 MB both ways', async (t) => {
  const b = await startEchoBackend('web-v001-1');
  const p = await startProxy();
  const clusterPort = await freePort();
  t.after(async () => {
    await p.stop();
    await b.kill();
  });
  assert.equal((await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': asBackends([b]) }, clusterPort)))).status, 200);
  // An ordinary request first: the upgrade below may then run on the proxy's pooled keep-alive socket.
  assert.equal((await get(p.port, 'web.test')).body, 'web-v001-1');

  for (const [port, host] of [
    [p.port, 'web.test'],
    [clusterPort, 'anything.example'],
  ] as const) {
    const h = await handshake(port, host, 'Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nX-Forwarded-For: 10.0.0.9\r\n');
    assert.equal(h.status, 101);
    assert.equal(h.headers['upgrade'], 'websocket');
    assert.equal(h.headers['connection'], 'Upgrade');
    assert.match(h.headers['sec-websocket-accept'] ?? '', /^accept-k/);
    assert.equal(h.headers['x-backend'], 'web-v001-1');
    // The greeting the backend wrote in the same packet as its 101 head arrives too.
    const greeting = await readBytes(h.socket, 'web-v001-1\n'.length, h.rest);
    assert.equal(greeting.toString(), 'web-v001-1\n');
    const payload = randomBytes(1024 * 1024);
    await echo(h.socket, payload);
    await echo(h.socket, Buffer.from('and a small one after it'));

    const seen = b.seen.at(-1)!;
    assert.equal(seen.upgrade, 'websocket');
    assert.equal(seen.connection, 'Upgrade');
    assert.match(String(seen['sec-websocket-key']), /^k/);
    assert.equal(seen['sec-websocket-version'], '13');
    assert.equal(seen['keep-alive'], undefined);
    assert.equal(seen['proxy-connection'], undefined);
    // Not from a trusted proxy: the client's X-Forwarded-For is replaced by its address.
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-host'], host);
    assert.equal(seen['x-forwarded-proto'], 'http');
    h.socket.destroy();
  }
  await waitFor('backend sockets closed', () => b.openSockets() === 0);
  await waitFor('no tunnel in stats', async () => Object.keys((await stats(p)).tunnels).length === 0);
});

test('a switch keeps open tunnels on the old group; new upgrades go to the new one; removing the old group closes them', async (t) => {
  const v1 = await startEchoBackend('web-v001-1');
  const v2 = await startEchoBackend('web-v002-1');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await Promise.all([v1.kill(), v2.kill()]);
  });
  const both = { 'web-v001': asBackends([v1]), 'web-v002': asBackends([v2]) };
  assert.equal((await putRoutes(p, table(1, cluster('web', 'web-v001', both)))).status, 200);
  const old = await open(p.port, 'web.test', 'web-v001');
  await echo(old, Buffer.from('before the switch'));

  assert.equal((await putRoutes(p, table(2, cluster('web', 'web-v002', both)))).status, 200);
  await echo(old, randomBytes(64 * 1024));
  const fresh = await open(p.port, 'web.test', 'web-v002');
  await echo(fresh, Buffer.from('after the switch'));
  // The old group drains at once (a tunnel is not an in-flight request), yet its tunnel lives on.
  const s = await stats(p);
  assert.equal(s.inFlight['web-v001'], 0);
  assert.deepEqual(s.tunnels, { 'web-v001': 1, 'web-v002': 1 });
  // A normal request after the switch goes to v002 as well.
  assert.equal((await get(p.port, 'web.test')).body, 'web-v002-1');

  // The old group leaves the table (its servers are about to stop): its tunnel is closed, the new one is not.
  const gone = closed(old);
  assert.equal((await putRoutes(p, table(3, cluster('web', 'web-v002', { 'web-v002': asBackends([v2]) })))).status, 200);
  await gone;
  await waitFor('v001 sockets closed', () => v1.openSockets() === 0);
  await echo(fresh, Buffer.from('still here'));
  assert.deepEqual((await stats(p)).tunnels, { 'web-v002': 1 });

  // A server that stops closes its tunnels too.
  const gone2 = closed(fresh);
  await v2.kill();
  await gone2;
  await waitFor('no tunnel in stats', async () => Object.keys((await stats(p)).tunnels).length === 0);
});

test('a backend that refuses, resets or closes before 101 gives 502; a non-101 answer is forwarded; the proxy keeps serving', async (t) => {
  const reset = await startEchoBackend('reset-v001-1', 'reset');
  const close = await startEchoBackend('close-v001-1', 'close');
  const deny = await startEchoBackend('deny-v001-1', 'refuse-403');
  const good = await startEchoBackend('good-v001-1');
  const nothing = { server: 'gone-v001-1', host: '127.0.0.1', port: await freePort() };
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await Promise.all([reset.kill(), close.kill(), deny.kill(), good.kill()]);
  });
  const routes = table(
    1,
    cluster('reset', 'reset-v001', { 'reset-v001': asBackends([reset]) }),
    cluster('close', 'close-v001', { 'close-v001': asBackends([close]) }),
    cluster('deny', 'deny-v001', { 'deny-v001': asBackends([deny]) }),
    cluster('good', 'good-v001', { 'good-v001': asBackends([good]) }),
    { name: 'gone', hosts: ['gone.test'], active: 'gone-v001', groups: [{ name: 'gone-v001', hosts: [], backends: [nothing] }] },
    { name: 'empty', hosts: ['empty.test'], active: 'empty-v001', groups: [{ name: 'empty-v001', hosts: [], backends: [] }] },
  );
  assert.equal((await putRoutes(p, routes)).status, 200);

  for (const host of ['gone.test', 'reset.test', 'close.test']) {
    const h = await handshake(p.port, host);
    assert.equal(h.status, 502, host);
    const body = (await readBytes(h.socket, Number(h.headers['content-length']), h.rest)).toString();
    assert.match(body, /bad gateway: upgrade to backend .*-v001-1 failed/);
    await closed(h.socket);
  }
  const denied = await handshake(p.port, 'deny.test');
  assert.equal(denied.status, 403);
  assert.equal((await readBytes(denied.socket, 10, denied.rest)).toString(), 'no upgrade');
  await closed(denied.socket);

  const empty = await handshake(p.port, 'empty.test');
  assert.equal(empty.status, 503);
  await closed(empty.socket);
  const unknown = await handshake(p.port, 'nobody.test');
  assert.equal(unknown.status, 404);
  await closed(unknown.socket);

  // Limits of ordinary requests apply to upgrade heads too.
  const huge = await handshake(p.port, 'good.test', `X-Big: ${'a'.repeat(20 * 1024)}\r\n`);
  assert.equal(huge.status, 431);
  huge.socket.destroy();
  const post = await handshake(p.port, 'good.test', 'Content-Length: 3\r\n\r\nabc');
  assert.equal(post.status, 400);
  post.socket.destroy();

  const ok = await open(p.port, 'good.test', 'good-v001-1');
  await echo(ok, Buffer.from('alive'));
  ok.destroy();
  assert.equal((await get(p.port, 'good.test')).body, 'good-v001-1');
  assert.equal(good.seen.length, 1, 'the refused requests never reached another backend');
});

test('a client that disconnects closes its backend socket, during the handshake and after it', async (t) => {
  const b = await startEchoBackend('web-v001-1');
  const slow = await startEchoBackend('slow-v001-1', 'hang');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await Promise.all([b.kill(), slow.kill()]);
  });
  const routes = table(1, cluster('web', 'web-v001', { 'web-v001': asBackends([b]) }), cluster('slow', 'slow-v001', { 'slow-v001': asBackends([slow]) }));
  assert.equal((await putRoutes(p, routes)).status, 200);

  const sockets = await Promise.all([...Array(20)].map(() => open(p.port, 'web.test', 'web-v001-1')));
  await Promise.all(sockets.map((s) => echo(s, Buffer.from('x'))));
  assert.equal(b.openSockets(), 20);
  assert.deepEqual((await stats(p)).tunnels, { 'web-v001': 20 });
  for (const s of sockets.slice(0, 10)) s.destroy();
  // Half of them end politely (FIN) instead of a reset: same outcome.
  for (const s of sockets.slice(10)) s.end();
  await waitFor('backend sockets closed', () => b.openSockets() === 0);
  await waitFor('no tunnel in stats', async () => Object.keys((await stats(p)).tunnels).length === 0);

  // A client that gives up while the backend has not answered yet.
  const c = net.connect(p.port, '127.0.0.1');
  c.on('error', () => {});
  c.write('GET /ws HTTP/1.1\r\nHost: slow.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  await waitFor('the handshake to reach the backend', () => slow.seen.length === 1);
  assert.equal(slow.openSockets(), 1);
  assert.equal((await stats(p)).inFlight['slow-v001'], 1);
  c.destroy();
  await waitFor('slow backend socket closed', () => slow.openSockets() === 0);
  await waitFor('nothing in flight', async () => (await stats(p)).inFlight['slow-v001'] === 0);
});

test('200 concurrent upgrades over two backends all echo, while a slowloris upgrade head drips', async (t) => {
  const bs = await Promise.all([startEchoBackend('web-v001-1'), startEchoBackend('web-v001-2')]);
  const p = await startProxy();
  const drip = net.connect(p.port, '127.0.0.1');
  drip.on('error', () => {});
  const head = 'GET /ws HTTP/1.1\r\nHost: web.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Slow: ' + 's'.repeat(200);
  let i = 0;
  const timer = setInterval(() => drip.writable && drip.write(head[i++ % head.length]!), 20);
  t.after(async () => {
    clearInterval(timer);
    drip.destroy();
    await p.stop();
    await Promise.all(bs.map((b) => b.kill()));
  });
  assert.equal((await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': asBackends(bs) })))).status, 200);

  const N = 200;
  const sockets = await Promise.all([...Array(N)].map(() => open(p.port, 'web.test', 'web-v001-')));
  await Promise.all(sockets.map((s, n) => echo(s, Buffer.from(`message ${n} `.repeat(100)))));
  assert.equal(bs[0]!.openSockets() + bs[1]!.openSockets(), N);
  // Round robin, as for ordinary requests.
  assert.equal(bs[0]!.seen.length, N / 2);
  assert.equal(bs[1]!.seen.length, N / 2);
  assert.deepEqual((await stats(p)).tunnels, { 'web-v001': N });
  for (const s of sockets) s.destroy();
  await waitFor('backend sockets closed', () => bs[0]!.openSockets() + bs[1]!.openSockets() === 0);
  await waitFor('no tunnel in stats', async () => Object.keys((await stats(p)).tunnels).length === 0);
  const s = await stats(p);
  assert.equal(s.failed, 0);
  assert.ok(i > 0 && !drip.destroyed, 'the slow client was still dripping');
});
