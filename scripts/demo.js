#!/usr/bin/env node
// The demo deployment of examples/shop on the embedded default (plain processes, SQLite):
// tag both apps, create a release, start the control plane (which starts the proxy), deploy,
// and fetch the shop's page through its role-named load balancer. Safe to run again.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(repo, 'examples', 'shop');
const kilnBin = path.join(repo, 'bin', 'kiln.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function kiln(...argv) {
  console.log(`\n$ kiln ${argv.join(' ')}`);
  const r = spawnSync(process.execPath, [kilnBin, ...argv], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function get(port, host, urlPath) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, headers: { host }, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, version: res.headers['x-app-version'], body }));
      })
      .on('error', reject);
  });
}

kiln('init');
kiln('app', 'tag', 'api', '1.0.0');
kiln('app', 'tag', 'web', '1.0.0');
kiln('release', 'create');

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
if (!fs.existsSync(sock)) {
  console.log(`\n$ kiln server &     # control plane; its log: ${path.relative(process.cwd(), serverLog)}`);
  fs.mkdirSync(path.dirname(serverLog), { recursive: true });
  const out = fs.openSync(serverLog, 'a');
  const server = spawn(process.execPath, [kilnBin, 'server'], { cwd: dir, detached: true, stdio: ['ignore', out, out] });
  server.unref();
  for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await sleep(25);
}

kiln('deploy', 'r1', '--env', 'dev');
kiln('status', '--env', 'dev');

const port = Number(/port:\s*(\d+)/.exec(fs.readFileSync(path.join(dir, 'kiln.yaml'), 'utf8'))?.[1] ?? 7080);
const page = await get(port, 'web-http-dev.shop.test', '/');
console.log(`\n$ curl -H 'Host: web-http-dev.shop.test' http://127.0.0.1:${port}/`);
console.log(page.body.trim());

// The api keeps orders in the orders store (SQLite in dev): write one, read them back.
const order = JSON.stringify({ item: 'kiln-fired mug', qty: 1, price: 12 });
console.log(`\n$ curl -H 'Host: api-http-dev.shop.test' -d '${order}' http://127.0.0.1:${port}/orders`);
const placed = await new Promise((resolve, reject) => {
  const req = http.request({ host: '127.0.0.1', port, path: '/orders', method: 'POST', headers: { host: 'api-http-dev.shop.test', 'content-type': 'application/json' }, agent: false }, (res) => {
    let body = '';
    res.on('data', (c) => (body += c));
    res.on('end', () => resolve({ status: res.statusCode, body }));
  });
  req.on('error', reject);
  req.end(order);
});
console.log(placed.body.trim());
const orders = await get(port, 'api-http-dev.shop.test', '/orders');
console.log(`\n$ curl -H 'Host: api-http-dev.shop.test' http://127.0.0.1:${port}/orders`);
console.log(orders.body.trim());
console.log(`
The shop runs: web (2 servers) calls api (2 servers) through api's load balancer, and a worker
runs beside them. Next, from examples/shop (with bin/ on your PATH, or \`node ../../bin/kiln.js\`):
  edit apps/api/package.json's version, then: kiln app tag api 2.0.0 && kiln release create && kiln deploy r2 --env dev
  kiln release diff r1 r2 · kiln rollback --env dev · kiln status --env dev --json
  kiln down            # stop every server, the proxy and the control plane`);
process.exit(page.status === 200 && placed.status === 201 && orders.status === 200 ? 0 : 1);
