#!/usr/bin/env node
// The demo deployment of examples/shop on the embedded default (plain processes, SQLite):
// tag both apps, create a release, start the control plane (which starts the proxy), deploy,
// and fetch the shop's page through its role-named load balancer.
//
// Safe to run again, also after an edit: each app is tagged with the version in its
// package.json (the same content under the same version is a no-op), a release is made only if
// something changed, and the newest release is deployed (clusters that already run it are left
// alone). Usage: node scripts/demo.js [project directory, default examples/shop]
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { placeSqlitePrebuild } from './sqlite-prebuild.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.resolve(process.argv[2] ?? path.join(repo, 'examples', 'shop'));
const kilnBin = path.join(repo, 'bin', 'kiln.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shown = (p) => path.relative(process.cwd(), p) || '.';

/** Runs kiln in the project, its output shown; exits the demo with kiln's code if it fails. */
function kiln(...argv) {
  console.log(`\n$ kiln ${argv.join(' ')}`);
  const r = spawnSync(process.execPath, [kilnBin, ...argv], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** Runs kiln with --json: progress and errors shown, the result parsed (null if it failed). */
function kilnJson(...argv) {
  console.log(`\n$ kiln ${argv.join(' ')}`);
  const r = spawnSync(process.execPath, [kilnBin, ...argv, '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) return { failed: r.status ?? 1, stdout: r.stdout };
  return { result: JSON.parse(r.stdout) };
}

function request(port, host, urlPath, body) {
  return new Promise((resolve, reject) => {
    const headers = { host, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: body === undefined ? 'GET' : 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Whether a control plane answers on the socket (a file left by a dead one does not). */
function answers(sock) {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

// kiln.yaml as Kiln reads it (the proxy's address, the domain), not a guess at its text.
let spec;
try {
  const { findSpecFile, loadSpec } = await import(path.join(repo, 'dist', 'src', 'spec', 'load.js'));
  spec = loadSpec(findSpecFile(dir));
} catch (e) {
  console.error(`demo: ${e.code === 'ERR_MODULE_NOT_FOUND' ? 'Kiln is not built: run `npm run demo` (it builds first)' : `${dir}: ${e.message}`}`);
  process.exit(1);
}

kiln('init');
for (const [service, svc] of Object.entries(spec.services)) {
  const appDir = path.resolve(dir, svc.app.path);
  const version = JSON.parse(fs.readFileSync(path.join(appDir, 'package.json'), 'utf8')).version;
  // An app locking better-sqlite3 (the api's SQLite driver) gets Kiln's own build of it as a
  // local prebuilt binary, so its `npm ci` neither downloads nor compiles it (see the script).
  const note = placeSqlitePrebuild(appDir);
  if (!/nothing to do|up to date/.test(note)) console.log(`\n(${note})`);
  const r = kilnJson('app', 'tag', service, version);
  if (r.failed) {
    if (/TAG_CONFLICT/.test(r.stdout)) {
      console.error(`\ndemo: ${shown(appDir)} changed since app/${service}:${version} was tagged, and tags never move:`);
      console.error(`  give it a new "version" in ${shown(path.join(appDir, 'package.json'))} and run the demo again`);
    }
    process.exit(r.failed);
  }
  console.log(`app/${service}:${version} ${r.result.digest}${r.result.created ? '' : ' (already tagged with this content)'}`);
}
const rel = kilnJson('release', 'create');
if (rel.failed) process.exit(rel.failed);
const release = rel.result.name;
console.log(rel.result.created ? `${release} ${rel.result.digest}` : `no changes since ${release}: deploying it`);

// web reads a token from a secret file; the demo makes one up (never pass secrets as arguments).
const tokenFile = path.join(dir, '.kiln', 'secrets', 'dev', 'web_token');
if (!fs.existsSync(tokenFile)) {
  console.log(`\n$ kiln secret set web_token --env dev < (a random value)`);
  const r = spawnSync(process.execPath, [kilnBin, 'secret', 'set', 'web_token', '--env', 'dev'], {
    cwd: dir,
    input: crypto.randomBytes(16).toString('hex'),
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const sock = path.join(dir, '.kiln', 'run', 'kiln.sock');
const serverLog = path.join(dir, '.kiln', 'logs', 'server.log');
if (!(await answers(sock))) {
  console.log(`\n$ kiln server &     # control plane; its log: ${shown(serverLog)}`);
  fs.mkdirSync(path.dirname(serverLog), { recursive: true });
  const out = fs.openSync(serverLog, 'a', 0o600);
  const from = fs.fstatSync(out).size;
  const server = spawn(process.execPath, [kilnBin, 'server'], { cwd: dir, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited = null;
  server.once('exit', (code, signal) => (exited = signal ?? code));
  // Up when its socket answers; a start that fails shows why (the lines it wrote), not a later error.
  for (let waited = 0; !(await answers(sock)); waited += 100) {
    if (exited !== null || waited >= 60_000) {
      const said = fs.readFileSync(serverLog, 'utf8').slice(from).trimEnd();
      console.error(`\ndemo: the control plane ${exited !== null ? `did not start (exit ${exited})` : 'did not answer within 60 s'}; it said:`);
      console.error(said ? said.split('\n').slice(-20).map((l) => `  ${l}`).join('\n') : '  (nothing)');
      if (exited === null) server.kill();
      process.exit(1);
    }
    await sleep(100);
  }
  server.unref();
}

kiln('deploy', release, '--env', 'dev');
kiln('status', '--env', 'dev');

const port = spec.proxy.port;
const host = (cluster) => `${cluster}-dev.${spec.domain}`;
const page = await request(port, host('web-http'), '/');
console.log(`\n$ curl -H 'Host: ${host('web-http')}' http://127.0.0.1:${port}/`);
console.log(page.body.trim());

// The api keeps orders in the orders store (SQLite in dev): write one, read them back.
const order = JSON.stringify({ item: 'kiln-fired mug', qty: 1, price: 12 });
console.log(`\n$ curl -H 'Host: ${host('api-http')}' -d '${order}' http://127.0.0.1:${port}/orders`);
const placed = await request(port, host('api-http'), '/orders', order);
console.log(placed.body.trim());
const orders = await request(port, host('api-http'), '/orders');
console.log(`\n$ curl -H 'Host: ${host('api-http')}' http://127.0.0.1:${port}/orders`);
console.log(orders.body.trim());
console.log(`
The shop runs ${release}: web (2 servers) calls api (2 servers) through api's load balancer, and a
worker runs beside them. Next, from ${shown(dir)} (with bin/ on your PATH, or \`node ${path.relative(dir, kilnBin)}\`):
  change an app, e.g. "version" in apps/api/package.json, then run the demo again (npm run demo), or by hand:
    kiln app tag api <the new version> && kiln release create && kiln deploy <the new release> --env dev
  kiln release diff r1 r2 · kiln rollback --env dev · kiln status --env dev --json · kiln logs api-http-dev
  kiln down            # stop every server, the proxy and the control plane`);
process.exit(page.status === 200 && placed.status === 201 && orders.status === 200 ? 0 : 1);
