import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { ProxyStats } from './routes.js';
import { admin, cluster, freePort, get, putRoutes, startBackend, startProxy, table, type TestBackend } from './testkit.js';

test('a backend that is not listening is skipped: every GET succeeds through the other one', async (t) => {
  const live = await startBackend('web-v001-1');
  const deadPort = await freePort();
  const dead = { ...live, backend: { server: 'web-v001-2', host: '127.0.0.1', port: deadPort } } as TestBackend;
  const p = await startProxy();
  const agent = new http.Agent({ keepAlive: true });
  t.after(async () => {
    agent.destroy();
    await p.stop();
    await live.kill();
  });
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [dead, live] })));
  for (let i = 0; i < 20; i++) {
    const r = await get(p.port, 'web.test', '/', { agent: i % 2 === 0 ? agent : false });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'web-v001-1');
  }
  // Only when no backend is left does the client see an error, and then a clear 502.
  await putRoutes(p, table(2, cluster('web', 'web-v001', { 'web-v001': [dead] })));
  const r = await get(p.port, 'web.test');
  assert.equal(r.status, 502);
  assert.match(r.body, /web-v001-2/);
});

test('killing a backend under continuous GET load fails no request', async (t) => {
  const [a, b] = await Promise.all([startBackend('web-v001-1'), startBackend('web-v001-2')]);
  const p = await startProxy();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  t.after(async () => {
    agent.destroy();
    await p.stop();
    await Promise.all([a.kill(), b.kill()]);
  });
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [a, b] })));
  let killed = false;
  let done = 0;
  const bodiesAfterKill: string[] = [];
  const failures: string[] = [];
  const client = async (useAgent: boolean) => {
    for (let i = 0; i < 150; i++) {
      const afterKill = killed;
      try {
        const r = await get(p.port, 'web.test', '/', { agent: useAgent ? agent : false });
        if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
        else if (afterKill) bodiesAfterKill.push(r.body);
      } catch (e) {
        failures.push((e as Error).message);
      }
      done++;
    }
  };
  const clients = [client(true), client(true), client(false), client(false)];
  while (done < 200) await new Promise((r) => setTimeout(r, 2));
  await a.kill();
  killed = true;
  await Promise.all(clients);
  assert.deepEqual(failures, []);
  assert.ok(bodiesAfterKill.length > 0);
  assert.ok(bodiesAfterKill.every((body) => body === 'web-v001-2'));
  assert.equal(((await admin(p.adminSocket, 'GET', '/stats')).json as ProxyStats).failed, 0);
});

test('a keep-alive connection closed by the backend as a request arrives is retried on a fresh one', async (t) => {
  // Like a backend whose idle timeout fires just as the proxy reuses the connection: every
  // second request on a connection is dropped without an answer.
  const served = new WeakMap<object, number>();
  const flaky = await startBackend('web-v001-1', (req, res) => {
    const n = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, n);
    if (n > 1) {
      req.socket.destroy();
      return;
    }
    res.end('web-v001-1');
  });
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await flaky.kill();
  });
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [flaky] })));
  // DELETE without a body is not idempotent: it is retried only because the socket was reused.
  for (const method of ['GET', 'DELETE', 'GET', 'DELETE']) {
    const r = await get(p.port, 'web.test', '/', { method });
    assert.equal(r.status, 200, `${method}: ${r.body}`);
    assert.equal(r.body, 'web-v001-1');
  }
  assert.ok(flaky.hits > 4, 'the backend saw the dropped attempts too');
});

test('a request with a body is not replayed: a backend dropping it gives a 502', async (t) => {
  const dropper = await startBackend('web-v001-1', (req) => req.socket.destroy());
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await dropper.kill();
  });
  await putRoutes(p, table(1, cluster('web', 'web-v001', { 'web-v001': [dropper] })));
  const r = await get(p.port, 'web.test', '/', { method: 'POST', body: 'order=1' });
  assert.equal(r.status, 502);
  assert.equal(dropper.hits, 1);
});
