// The haproxy engine against the real HAProxy (/usr/sbin/haproxy): a switch under continuous
// requests fails none and needs no reload (the same worker serves before and after), a drain
// sees HAProxy's in-flight count, a crash-looping active group falls back to the kept one, a
// kill -9 of HAProxy is followed by a start from the saved routes, maintenance answers 503 with
// its page, a pause holds requests until resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cluster, freePort, get, startBackend, table, type TestBackend } from '../testkit.js';
import { HAPROXY } from '../haproxy-testkit.js';
import { HaproxyEngine } from './engine.js';
import { parseInfo, runtimeCommand } from './runtime-api.js';

async function startEngine(t: import('node:test').TestContext): Promise<{ engine: HaproxyEngine; port: number; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-haproxy-engine-'));
  const port = await freePort();
  const engine = new HaproxyEngine({
    binary: HAPROXY,
    runDir: path.join(dir, 'run'),
    logFile: path.join(dir, 'logs', 'haproxy.log'),
    listen: { host: '127.0.0.1', port },
    log: () => undefined,
  });
  t.after(async () => {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(await engine.ensure(), 'started');
  return { engine, port, dir };
}

const workerPid = async (dir: string): Promise<string> => parseInfo(await runtimeCommand(path.join(dir, 'run', 'haproxy', 'admin.sock'), 'show info')).Pid!;

/** Requests on keep-alive connections until stopped: the bodies (backend names) in order, and the failures. */
function load(port: number, host: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const seen: string[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const r = await get(port, host, '/', { agent });
        if (r.status === 200) seen.push(r.body);
        else failures.push(`${r.status} ${r.body}`);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  };
  const loops = [loop(), loop(), loop(), loop()];
  return {
    seen,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return { seen, failures };
    },
  };
}

const until = async (what: string, ok: () => boolean | Promise<boolean>): Promise<void> => {
  for (let i = 0; i < 400; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
};

const transitions = (seen: string[]): string[] => seen.filter((s, i) => i === 0 || seen[i - 1] !== s);

test('a switch under load: zero failed requests, one transition, no reload; the old group drains', async (t) => {
  const { engine, port, dir } = await startEngine(t);
  const v1 = await startBackend('api-v001-1');
  const v2 = await startBackend('api-v002-1');
  t.after(async () => Promise.all([v1.kill(), v2.kill()]));
  await engine.push(table(1, cluster('api', 'api-v001', { 'api-v001': [v1] })));
  assert.equal((await get(port, 'api.test')).body, 'api-v001-1');
  await engine.push(table(2, cluster('api', 'api-v001', { 'api-v001': [v1], 'api-v002': [v2] })));
  const worker = await workerPid(dir);
  // Its own host name reaches the new group before it takes the cluster's traffic.
  assert.equal((await get(port, 'API-v002.test.')).body, 'api-v002-1');
  assert.equal((await get(port, 'api.test')).body, 'api-v001-1');
  const l = load(port, 'api.test');
  await until('requests before the switch', () => l.seen.length >= 200);
  await engine.push({ ...table(3, { ...cluster('api', 'api-v002', { 'api-v001': [v1], 'api-v002': [v2] }), fallback: 'api-v001' }) });
  const n = l.seen.length;
  await until('requests after the switch', () => l.seen.length >= n + 200);
  const r = await l.stop();
  assert.deepEqual(r.failures, []);
  assert.deepEqual(transitions(r.seen), ['api-v001-1', 'api-v002-1']);
  assert.equal(await workerPid(dir), worker, 'the same HAProxy worker: no reload');
  assert.deepEqual((await engine.routes())?.clusters.map((c) => c.active), ['api-v002']);
  assert.equal((await engine.stats())?.inFlight['api-v001'], 0, 'drained');
  // The group destroyed: gone from its backend and from the preview map.
  await engine.push(table(4, cluster('api', 'api-v002', { 'api-v002': [v2] })));
  assert.equal((await get(port, 'api-v001.test')).status, 404);
  assert.equal((await get(port, 'api-v002.test')).body, 'api-v002-1');
  assert.equal(await workerPid(dir), worker, 'still no reload');
});

test('in flight: a slow request to the old group is counted until it finishes', async (t) => {
  const { engine, port } = await startEngine(t);
  let finish: () => void = () => undefined;
  const slow = await startBackend('api-v001-1', (req, res) => {
    finish = () => res.end('slow');
  });
  const v2 = await startBackend('api-v002-1');
  t.after(async () => Promise.all([slow.kill(), v2.kill()]));
  await engine.push(table(1, cluster('api', 'api-v001', { 'api-v001': [slow], 'api-v002': [v2] })));
  const pending = get(port, 'api.test');
  await until('the slow request in flight', async () => (await engine.stats())?.inFlight['api-v001'] === 1);
  await engine.push(table(2, cluster('api', 'api-v002', { 'api-v001': [slow], 'api-v002': [v2] })));
  assert.equal((await get(port, 'api.test')).body, 'api-v002-1');
  assert.equal((await engine.stats())?.inFlight['api-v001'], 1, 'still in flight after the switch');
  finish();
  assert.equal((await pending).body, 'slow', 'a drained request finishes');
  await until('drained', async () => (await engine.stats())?.inFlight['api-v001'] === 0);
});

test('the kept group takes the requests no server of a dead active group accepts', async (t) => {
  const { engine, port, dir } = await startEngine(t);
  const v1 = await startBackend('api-v001-1');
  const v2: TestBackend = await startBackend('api-v002-1');
  t.after(async () => Promise.all([v1.kill(), v2.kill()]));
  await engine.push({ ...table(1, { ...cluster('api', 'api-v002', { 'api-v001': [v1], 'api-v002': [v2] }), fallback: 'api-v001' }) });
  await v2.kill();
  for (let i = 0; i < 20; i++) {
    const r = await get(port, 'api.test');
    assert.deepEqual([r.status, r.body], [200, 'api-v001-1']);
  }
  assert.ok(((await engine.stats())?.fallbacks['api'] ?? 0) >= 20);
  // HAProxy says so in its log (its stderr, with no per-request lines).
  await until('the log line', () => readFileSync(path.join(dir, 'logs', 'haproxy.log'), 'utf8').includes('c_api/api-v002-1 is DOWN'));
});

test('kill -9 of HAProxy: the next ensure starts it from the saved routes; its files are 0600 in a 0700 directory', async (t) => {
  const { engine, port, dir } = await startEngine(t);
  const v1 = await startBackend('api-v001-1');
  const v2 = await startBackend('api-v002-1');
  t.after(async () => Promise.all([v1.kill(), v2.kill()]));
  await engine.push(table(1, cluster('api', 'api-v001', { 'api-v001': [v1], 'api-v002': [v2] })));
  await engine.push(table(2, cluster('api', 'api-v002', { 'api-v001': [v1], 'api-v002': [v2] })));
  const master = engine.masterPid()!;
  process.kill(master, 'SIGKILL');
  await until('HAProxy gone', () => !engine.isRunning());
  assert.equal(await engine.routes(), null);
  assert.equal(await engine.ensure(), 'started');
  assert.notEqual(engine.masterPid(), master);
  assert.equal((await get(port, 'api.test')).body, 'api-v002-1', 'routes as before the kill');
  assert.equal((await get(port, 'api-v001.test')).body, 'api-v001-1', 'group routes too');
  assert.equal(await engine.currentVersion(), 2);
  const hx = path.join(dir, 'run', 'haproxy');
  assert.equal(statSync(hx).mode & 0o777, 0o700);
  for (const f of ['haproxy.cfg', 'routes.json', 'admin.sock', 'master.sock', 'master.json']) assert.equal(statSync(path.join(hx, f)).mode & 0o077, 0, `${f} is not readable by others`);
});

test('maintenance: a reload, then 503 with the page on the public listener and the cluster port; a cluster port serves only its cluster', async (t) => {
  const { engine, port, dir } = await startEngine(t);
  const v1 = await startBackend('api-v001-1');
  t.after(() => v1.kill());
  const cport = await freePort();
  const c = cluster('api', 'api-v001', { 'api-v001': [v1] }, cport);
  await engine.push(table(1, c));
  assert.equal((await get(cport, 'anything')).body, 'api-v001-1');
  assert.equal((await get(port, 'nope.test')).status, 404);
  const worker = await workerPid(dir);
  await engine.push(table(2, { ...c, maintenance: { page: '<h1>back soon</h1>', retryAfterS: 30 } }));
  assert.notEqual(await workerPid(dir), worker, 'reloaded');
  for (const r of [await get(port, 'API.test:7080'), await get(cport, 'x')]) {
    assert.deepEqual([r.status, r.body, r.headers['retry-after'], r.headers['cache-control']], [503, '<h1>back soon</h1>', '30', 'no-store']);
  }
  await engine.push(table(3, c));
  assert.equal((await get(port, 'api.test')).body, 'api-v001-1', 'maintenance off serves again');
});

test('pause holds requests without a reload; resume sends them on; past its bound, 503', async (t) => {
  const { engine, port, dir } = await startEngine(t);
  const v1 = await startBackend('api-v001-1');
  t.after(() => v1.kill());
  const c = cluster('api', 'api-v001', { 'api-v001': [v1] });
  await engine.push(table(1, c));
  const worker = await workerPid(dir);
  await engine.push(table(2, { ...c, hold: { until: Date.now() + 60_000 } }));
  let settled = 0;
  const waiting = Array.from({ length: 5 }, () => get(port, 'api.test').finally(() => settled++));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(settled, 0, 'nothing answered while paused');
  await engine.push(table(3, c));
  assert.deepEqual((await Promise.all(waiting)).map((r) => [r.status, r.body]), Array(5).fill([200, 'api-v001-1']));
  assert.equal(await workerPid(dir), worker, 'pause and resume are no reload');
  await engine.push(table(4, { ...c, hold: { until: Date.now() + 300 } }));
  const expired = await get(port, 'api.test');
  assert.equal(expired.status, 503);
  assert.equal(expired.headers['retry-after'], '5');
  assert.match(expired.body, /cluster api is paused and its bound passed; kiln resume api lets requests through again/);
});

test('a new cluster is a master-worker reload that fails no request of the clusters already served', async (t) => {
  const { engine, port, dir } = await startEngine(t);
  const api = await startBackend('api-v001-1');
  const web = await startBackend('web-v001-1');
  t.after(async () => Promise.all([api.kill(), web.kill()]));
  const a = cluster('api', 'api-v001', { 'api-v001': [api] });
  await engine.push(table(1, a));
  const worker = await workerPid(dir);
  const l = load(port, 'api.test');
  await until('requests before the reload', () => l.seen.length >= 200);
  await engine.push(table(2, a, cluster('web', 'web-v001', { 'web-v001': [web] })));
  const n = l.seen.length;
  await until('requests after the reload', () => l.seen.length >= n + 200);
  await engine.push(table(3, a));
  const m = l.seen.length;
  await until('requests after the second reload', () => l.seen.length >= m + 200);
  const r = await l.stop();
  assert.notEqual(await workerPid(dir), worker, 'reloaded');
  assert.deepEqual(r.failures, []);
  assert.deepEqual(transitions(r.seen), ['api-v001-1']);
  assert.equal((await get(port, 'web.test')).status, 404, 'the removed cluster is gone');
});
