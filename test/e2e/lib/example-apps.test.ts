// The example apps by themselves, run by hand with flags as Kiln runs them: what they serve,
// what they log, how they stop. (Deploying them with Kiln is the e2e tests' job.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { findRepoRoot } from './project.js';
import { waitFor } from './wait.js';

const APPS = path.join(findRepoRoot(), 'examples', 'shop', 'apps');

interface App {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

/** Runs `node <dir>/server.js ...flags` and waits for its startup line (which gives the port). */
async function startApp(dir: string, flags: string[]): Promise<App> {
  const child = spawn(process.execPath, [path.join(dir, 'server.js'), ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const m = await waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)|started \(pid/.exec(out), { what: `${dir} to start: ${out}` });
  return { child, port: Number(m[1] ?? 0), exited };
}

function get(port: number, p: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }).on('error', reject);
  });
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-shop-'));
}

function logLines(file: string): Array<Record<string, unknown>> {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A copy of one app, to change its package.json or build it without touching the example. */
function copyApp(app: string, into: string, pkg: Record<string, unknown> = {}): string {
  const dir = path.join(into, app);
  fs.cpSync(path.join(APPS, app), dir, { recursive: true });
  const file = path.join(dir, 'package.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), ...pkg }, null, 2));
  return dir;
}

test('both apps carry the same runtime.js', () => {
  assert.equal(fs.readFileSync(path.join(APPS, 'api', 'runtime.js'), 'utf8'), fs.readFileSync(path.join(APPS, 'web', 'runtime.js'), 'utf8'));
});

test('api serves items and health with its version, logs each request, and stops on SIGTERM', async () => {
  const d = tmp();
  try {
    const log = path.join(d, 'logs', 'api.log');
    const api = await startApp(path.join(APPS, 'api'), ['--port=0', `--log-file=${log}`, '--greeting=hi there']);
    const health = await get(api.port, '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.body, 'ok\n');
    const items = await get(api.port, '/items');
    assert.equal(items.status, 200);
    assert.equal(items.headers['x-app-version'], '1.0.0');
    const body = JSON.parse(items.body);
    assert.equal(body.service, 'api');
    assert.equal(body.version, '1.0.0');
    assert.equal(body.greeting, 'hi there');
    assert.ok(body.items.length > 0);
    assert.equal((await get(api.port, '/nope')).status, 404);

    api.child.kill('SIGTERM');
    assert.equal(await api.exited, 0);
    const events = logLines(log);
    assert.deepEqual(events.map((e) => e['event']), ['start', 'listening', 'request', 'request', 'request', 'stopping', 'stopped']);
    assert.deepEqual(events.filter((e) => e['event'] === 'request').map((e) => [e['path'], e['status']]), [['/healthz', 200], ['/items', 200], ['/nope', 404]]);
    assert.ok(events.every((e) => e['service'] === 'api' && e['version'] === '1.0.0'));
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

test('a bumped package.json version is what the app answers with; an unhealthy build fails /healthz', async () => {
  const d = tmp();
  try {
    const dir = copyApp('api', d, { version: '2.0.0', unhealthy: true });
    const api = await startApp(dir, ['--port', '0', '--log-file', path.join(d, 'api.log')]);
    const items = await get(api.port, '/items');
    assert.equal(items.headers['x-app-version'], '2.0.0');
    assert.equal(JSON.parse(items.body).version, '2.0.0');
    const health = await get(api.port, '/healthz');
    assert.equal(health.status, 503);
    assert.equal(health.headers['x-app-version'], '2.0.0');
    api.child.kill('SIGTERM');
    assert.equal(await api.exited, 0);
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

test('bad flags are errors naming the flag', () => {
  const run = (app: string, args: string[]) => spawnSync(process.execPath, [path.join(APPS, app, 'server.js'), ...args], { encoding: 'utf8' });
  const unknown = run('api', ['--port=0', '--log-file=/dev/null', '--colour=blue']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown flag --colour; known flags: --mode, --port/);
  const missing = run('web', ['--port=0', '--log-file=/dev/null']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /missing required flag --api-url/);
  const badPort = run('api', ['--port=http', '--log-file=/dev/null']);
  assert.equal(badPort.status, 2);
  assert.match(badPort.stderr, /--port must be a number/);
  const badMode = run('api', ['--mode=cron', '--log-file=/dev/null']);
  assert.equal(badMode.status, 2);
  assert.match(badMode.stderr, /--mode must be http or worker/);
});

test('the worker role logs a heartbeat and stops on SIGTERM', async () => {
  const d = tmp();
  try {
    const log = path.join(d, 'worker.log');
    const worker = await startApp(path.join(APPS, 'api'), ['--mode=worker', '--greeting=hello', `--log-file=${log}`]);
    await waitFor(() => fs.existsSync(log) && logLines(log).some((e) => e['event'] === 'heartbeat'), { what: 'a heartbeat' });
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0);
    const events = logLines(log);
    assert.equal(events.at(-1)!['event'], 'stopped');
    assert.ok(events.every((e) => e['mode'] === 'worker'));
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

test('web shows the api items through --api-url, says 502 when the api is down, and its build is deterministic', async () => {
  const d = tmp();
  try {
    const web = copyApp('web', d);
    const build = () => {
      const r = spawnSync(process.execPath, ['build.js'], { cwd: web, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return fs.readFileSync(path.join(web, 'build-info.json'), 'utf8');
    };
    const first = build();
    assert.equal(build(), first);
    assert.equal(JSON.parse(first).version, '1.0.0');

    const api = await startApp(path.join(APPS, 'api'), ['--port=0', `--log-file=${path.join(d, 'api.log')}`, '--greeting=welcome']);
    const w = await startApp(web, ['--port=0', `--log-file=${path.join(d, 'web.log')}`, `--api-url=http://127.0.0.1:${api.port}`]);
    const page = await get(w.port, '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['x-app-version'], '1.0.0');
    assert.match(page.body, /welcome from the shop/);
    assert.match(page.body, /web 1\.0\.0 \(built\), api 1\.0\.0/);
    assert.match(page.body, /kiln-fired mug/);
    assert.deepEqual(JSON.parse((await get(w.port, '/build-info')).body), JSON.parse(first));

    api.child.kill('SIGTERM');
    assert.equal(await api.exited, 0);
    const down = await get(w.port, '/');
    assert.equal(down.status, 502);
    assert.match(down.body, /the api is unavailable/);
    assert.match(down.body, /ECONNREFUSED/);
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 0);
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

test('a request in flight at SIGTERM is answered before the app exits', async () => {
  const d = tmp();
  // A stand-in api that holds its answer until released.
  let release: () => void = () => {};
  let arrived: () => void = () => {};
  const requestArrived = new Promise<void>((r) => (arrived = r));
  const fakeApi = http.createServer((_req, res) => {
    arrived();
    release = () => res.end(JSON.stringify({ greeting: 'late', items: [{ name: 'slow mug', price: 1 }] }));
  });
  await new Promise<void>((r) => fakeApi.listen(0, '127.0.0.1', r));
  try {
    const apiPort = (fakeApi.address() as AddressInfo).port;
    const w = await startApp(path.join(APPS, 'web'), ['--port=0', `--log-file=${path.join(d, 'web.log')}`, `--api-url=http://127.0.0.1:${apiPort}/`]);
    const pending = get(w.port, '/');
    await requestArrived;
    w.child.kill('SIGTERM');
    await waitFor(() => logLines(path.join(d, 'web.log')).some((e) => e['event'] === 'stopping'), { what: 'web to begin stopping' });
    release();
    const page = await pending;
    assert.equal(page.status, 200);
    assert.match(page.body, /slow mug/);
    assert.equal(page.headers['connection'], 'close');
    assert.equal(await w.exited, 0);
  } finally {
    fakeApi.closeAllConnections();
    fakeApi.close();
    fs.rmSync(d, { recursive: true, force: true });
  }
});
