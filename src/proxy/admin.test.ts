import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProxy } from './main.js';
import { admin, cluster, get, putRoutes, startBackend, startProxy, table } from './testkit.js';

test('the admin socket is private and answers healthz, routes and stats', async (t) => {
  const p = await startProxy();
  t.after(() => p.stop());
  assert.equal(statSync(p.adminSocket).mode & 0o777, 0o600);
  assert.deepEqual((await admin(p.adminSocket, 'GET', '/healthz')).json, { ok: true, version: 0 });
  assert.deepEqual((await admin(p.adminSocket, 'GET', '/routes')).json, { version: 0, clusters: [] });
  const stats = (await admin(p.adminSocket, 'GET', '/stats')).json as Record<string, unknown>;
  assert.equal(typeof stats.startedAt, 'number');
  delete stats.startedAt;
  assert.deepEqual(stats, { version: 0, requests: 0, failed: 0, inFlight: {}, tunnels: {}, fallbacks: {}, groups: {} });
  assert.equal((await admin(p.adminSocket, 'GET', '/nope')).status, 404);
});

test('an invalid table is refused with 400 and a message; the old table keeps serving', async (t) => {
  const a = await startBackend('web-v001-1');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await a.kill();
  });
  const good = table(1, cluster('web', 'web-v001', { 'web-v001': [a] }));
  assert.equal((await putRoutes(p, good)).status, 200);

  const bad: Array<[unknown, RegExp]> = [
    ['{not json', /not JSON/],
    [[], /object/],
    [{ version: 2 }, /clusters/],
    [{ version: -1, clusters: [] }, /version/],
    [{ version: 2, clusters: [], extra: true }, /unknown key "extra"/],
    [table(2, { ...cluster('web', 'web-v009', { 'web-v001': [a] }) }), /web-v009/],
    [table(2, cluster('Web', null, {})), /DNS label/],
    [table(2, { ...cluster('web', null, {}), hosts: ['web.test:80'] }), /host name/],
    [table(2, cluster('web', null, {}), cluster('web2', null, { 'web-v001': [a] }), cluster('web3', null, { 'web-v001': [a] })), /also used/],
    [table(2, { ...cluster('web', null, {}), port: 70000 }), /port/],
    [table(2, cluster('web', 'web-v001', { 'web-v001': [{ ...a, backend: { server: 'x', host: '127.0.0.1', port: 0 } }] })), /port/],
    [table(2, cluster('web', 'web-v001', { 'web-v001': [] }, p.port)), /public port/],
  ];
  for (const [body, message] of bad) {
    const r = await admin(p.adminSocket, 'PUT', '/routes', typeof body === 'string' ? body : JSON.stringify(body));
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match((r.json as { message: string }).message, message);
  }
  assert.deepEqual((await admin(p.adminSocket, 'GET', '/routes')).json, good);
  assert.deepEqual(JSON.parse(readFileSync(p.routesFile, 'utf8')), good);
  assert.equal((await get(p.port, 'web.test')).body, 'web-v001-1');
});

test('an older table version is refused with 409 and ignored; the same version is accepted again', async (t) => {
  const [a, b] = await Promise.all([startBackend('web-v001-1'), startBackend('web-v002-1')]);
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await Promise.all([a.kill(), b.kill()]);
  });
  assert.equal((await putRoutes(p, table(5, cluster('web', 'web-v002', { 'web-v002': [b] })))).status, 200);
  const stale = await putRoutes(p, table(4, cluster('web', 'web-v001', { 'web-v001': [a] })));
  assert.equal(stale.status, 409);
  assert.match((stale.json as { message: string }).message, /older/);
  assert.equal((await get(p.port, 'web.test')).body, 'web-v002-1');
  assert.equal((await putRoutes(p, table(5, cluster('web', 'web-v002', { 'web-v002': [b] })))).status, 200);
});

test('a restarted proxy restores its routes from the routes file', async (t) => {
  const a = await startBackend('web-v001-1');
  const p = await startProxy();
  t.after(async () => {
    await p.stop();
    await a.kill();
  });
  const t1 = table(3, cluster('web', 'web-v001', { 'web-v001': [a] }));
  await putRoutes(p, t1);
  await p.restart();
  assert.deepEqual((await admin(p.adminSocket, 'GET', '/routes')).json, t1);
  const r = await get(p.port, 'web.test');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'web-v001-1');
  // The restored version still guards against stale tables.
  assert.equal((await putRoutes(p, table(2))).status, 409);
});

test('a corrupt routes file is logged and the proxy starts empty; a stale socket file is replaced', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-proxy-test-'));
  const opts = {
    listenHost: '127.0.0.1',
    listenPort: 0,
    adminSocket: path.join(dir, 'admin.sock'),
    routesFile: path.join(dir, 'routes.json'),
    logFile: path.join(dir, 'proxy.log'),
  };
  writeFileSync(opts.routesFile, '{"version": 3, "clusters": [');
  // A live process serving on the socket: a second proxy refuses to steal it.
  const owner = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(opts.adminSocket)}, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(owner.stdout, 'data');
  await assert.rejects(runProxy(opts), /already serving/);
  // Killed with -9, it leaves its socket file behind: the next proxy replaces it.
  owner.kill('SIGKILL');
  await once(owner, 'exit');
  assert.ok(statSync(opts.adminSocket).isSocket());
  const h = await runProxy(opts);
  t.after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.deepEqual((await admin(opts.adminSocket, 'GET', '/routes')).json, { version: 0, clusters: [] });
  assert.match(readFileSync(opts.logFile, 'utf8'), /not valid JSON/);
});
